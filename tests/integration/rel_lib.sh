# shellcheck shell=bash
# Helpers shared by the reliability tests (test_crash_features, test_redis_outage,
# test_redis_acl, bench/soak.sh). Source after lib.sh. Python: /usr/bin/python3 (pandas,
# confluent_kafka).

REL_PY=/usr/bin/python3
REL_REF="$SS_SOURCE_DIR/tests/integration/rfm_reference.py"

# rel_free_port: prints a free loopback TCP port.
rel_free_port() {
    $REL_PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# rel_metric PORT NAME: the value of a Prometheus sample (0 if absent or unreachable).
rel_metric() {
    curl -s "http://127.0.0.1:$1/metrics" 2>/dev/null | awk -v n="$2" '$1 == n { v = $2 } END { print v + 0 }'
}

# rel_csv_to_jsonl CSV OUT: native CSV (streamscore-gen --out) -> one Transaction JSON object per
# order (rfm_reference.py input), straight from the file: independent of our decoder.
rel_csv_to_jsonl() {
    $REL_PY - "$1" "$2" <<'EOF'
import csv, json, sys
from datetime import datetime, timezone
orders = {}
with open(sys.argv[1], newline="", encoding="utf-8") as f:
    for r in csv.DictReader(f):
        o = orders.get(r["order_id"])
        if o is None:
            t = datetime.strptime(r["event_time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
            o = orders[r["order_id"]] = {
                "order_id": r["order_id"], "customer_id": r["customer_id"] or None,
                "store_id": r["store_id"], "event_time": int(round(t.timestamp() * 1000)),
                "kind": r["kind"].upper(), "currency": r["currency"] or "GBP", "lines": []}
        o["lines"].append({"product_id": r["product_id"], "quantity": int(r["quantity"]),
                           "unit_price": float(r["unit_price"])})
with open(sys.argv[2], "w", encoding="utf-8") as out:
    for o in orders.values():
        out.write(json.dumps(o) + "\n")
print(len(orders))
EOF
}

# rel_wait_drained GROUP TOPIC TIMEOUT_S: waits until GROUP's committed offsets reach the end of
# every partition of TOPIC (the service has processed and committed everything). Prints the
# last lag seen on failure.
rel_wait_drained() {
    $REL_PY - "$BROKERS" "$1" "$2" "$(($3 * SS_TIMEOUT_MULT))" <<'EOF'
import sys, time
from confluent_kafka import Consumer, TopicPartition
brokers, group, topic, timeout = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
c = Consumer({"bootstrap.servers": brokers, "group.id": group, "enable.auto.commit": False})
parts = sorted(c.list_topics(topic, timeout=30).topics[topic].partitions)
tps = [TopicPartition(topic, p) for p in parts]
deadline = time.time() + timeout
lag = None
while time.time() < deadline:
    try:
        committed = c.committed(tps, timeout=10)
        lag = 0
        for tp in committed:
            lo, hi = c.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=10)
            lag += hi - (tp.offset if tp.offset >= 0 else lo)
        if lag == 0:
            c.close()
            sys.exit(0)
    except Exception as e:  # a broker may be down or the coordinator moving: retry
        print("lag check: %s" % e, file=sys.stderr)
    time.sleep(0.5)
print("group %s still lags %s messages on %s" % (group, lag, topic), file=sys.stderr)
c.close()
sys.exit(1)
EOF
}

# rel_compare PREFIX ORDERS_JSONL WHAT: dumps the feature store (redis.prefix PREFIX) and
# compares it, and the per-(store, product, day) demand, with rfm_reference.py over ORDERS_JSONL
# as of the last event. Fails the test on any difference.
rel_compare() {
    local prefix=$1 orders=$2 what=$3 d=$SS_TEST_DIR as_of
    as_of=$($REL_PY -c 'import json,sys; print(max(json.loads(l)["event_time"] for l in open(sys.argv[1])))' "$orders")
    [ -s "$d/ref_features.jsonl" ] || $REL_PY "$REL_REF" features "$orders" --as-of "$as_of" >"$d/ref_features.jsonl"
    [ -s "$d/ref_demand.jsonl" ] || $REL_PY "$REL_REF" demand "$orders" >"$d/ref_demand.jsonl"
    "$SS_BIN/streamscore-features" -c "$SS_STACK_CONF" --redis.prefix "$prefix" dump --as-of "$as_of" \
        >"$d/got_features.jsonl" 2>"$d/dump.err" || ss_fail "features dump failed ($what): $(tail -2 "$d/dump.err")"
    $REL_PY "$REL_REF" compare-features "$d/ref_features.jsonl" "$d/got_features.jsonl" >&2 ||
        ss_fail "features differ from the batch computation ($what)"
    "$SS_BIN/streamscore-features" -c "$SS_STACK_CONF" --redis.prefix "$prefix" dump-demand \
        >"$d/got_demand.jsonl" 2>"$d/dump.err" || ss_fail "features dump-demand failed ($what)"
    $REL_PY "$REL_REF" compare-demand "$d/ref_demand.jsonl" "$d/got_demand.jsonl" >&2 ||
        ss_fail "demand differs from the batch computation ($what)"
}
