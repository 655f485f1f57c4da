#!/usr/bin/env bash
# End to end: the UCI Online Retail file through the local stack (mock Kafka + redis-server).
#  1. streamscore-replay -> transactions -> streamscore-features; every customer's features as of
#     the last event (streamscore-features dump) and every (store, product, day) quantity equal
#     an independent pandas computation over the events actually on the topic (streamscore-tail);
#     the last CustomerFeatures event of each customer carries its final frequency and spend.
#  2. every order delivered twice, shuffled within its day, plus undecodable messages and
#     conflicting redeliveries at the end, with redis-server stopped and restarted mid-way: same
#     features and demand (nothing lost or doubled), bad input dead-lettered.
#  3. SIGTERM: clean exit 0.
. "$(dirname "$0")/lib.sh"

# State mode under test: SS_E2E_STATE_MODE=script|local runs every streamscore-features of this
# test with that --state.mode; unset, the service's default (docs/features.md "State modes").
MODE_ARGS=()
[ -z "${SS_E2E_STATE_MODE:-}" ] || MODE_ARGS=(--state.mode "$SS_E2E_STATE_MODE")

PY=/usr/bin/python3
REF="$SS_SOURCE_DIR/tests/integration/rfm_reference.py"
DATA="$SS_SHARED_DIR/data/online_retail.csv.gz"
[ -f "$DATA" ] || ss_skip "no $DATA"
D=$SS_TEST_DIR
# The mock keeps only ~5 MiB per partition: spread the twice-delivered copy (~35 MB) widely.
ss_start_stack --partitions "transactions=8,transactions-twice=32"
C=$SS_STACK_CONF

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
metric() { # metric PORT NAME -> value (0 if absent)
    curl -s "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1 == n { v = $2 } END { print v + 0 }'
}
processed() { # orders applied + duplicates + dead letters
    echo $(($(metric "$1" streamscore_features_orders_applied_total) +
        $(metric "$1" streamscore_features_orders_duplicate_total) +
        $(metric "$1" streamscore_features_dead_letters_total)))
}
wait_processed() { # PORT N
    ss_wait_for 180 sh -c "[ \$(curl -s http://127.0.0.1:$1/metrics | awk '/^streamscore_features_(orders_applied|orders_duplicate|dead_letters)_total /{s+=\$2} END{print s+0}') -ge $2 ]" ||
        ss_fail "features processed $(processed "$1") of $2 messages"
}

ss_log "replaying the UCI file"
"$SS_BIN/streamscore-replay" -c "$C" --format online-retail "$DATA" >"$D/replay.out" 2>"$D/replay.log" ||
    ss_fail "replay failed: $(tail -3 "$D/replay.log")"
N=$(awk '/^events/ { print $2 }' "$D/replay.out")
[ "${N:-0}" -gt 20000 ] || ss_fail "replay produced '$N' events"
"$SS_BIN/streamscore-tail" -c "$C" --from beginning --count "$N" --timeout 120 transactions \
    >"$D/tail.jsonl" 2>"$D/tail.log" || ss_fail "tail failed"
[ "$(wc -l <"$D/tail.jsonl")" -eq "$N" ] || ss_fail "tail read $(wc -l <"$D/tail.jsonl") of $N events"
AS_OF=$($PY -c 'import json,sys; print(max(json.loads(l)["value"]["event_time"] for l in open(sys.argv[1])))' "$D/tail.jsonl")
$PY "$REF" features "$D/tail.jsonl" --as-of "$AS_OF" >"$D/ref_features.jsonl"
$PY "$REF" demand "$D/tail.jsonl" >"$D/ref_demand.jsonl"
N_CUST_ORDERS=$($PY -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l)["value"]["customer_id"] is not None))' "$D/tail.jsonl")

# 1. In-order stream.
ss_log "step 1: features service on the replayed stream ($N events)"
P1=$(free_port)
ss_bg features1 "$SS_BIN/streamscore-features" -c "$C" "${MODE_ARGS[@]}" --group.id e2e-1 --redis.prefix a: \
    --session.timeout.ms 6000 --metrics.port "$P1"
F1=$SS_LAST_PID
wait_processed "$P1" "$N"
[ "$(metric "$P1" streamscore_features_dead_letters_total)" = 0 ] || ss_fail "unexpected dead letters"
[ "$(metric "$P1" streamscore_features_events_produced_total)" = "$N_CUST_ORDERS" ] ||
    ss_fail "produced $(metric "$P1" streamscore_features_events_produced_total) CustomerFeatures, expected $N_CUST_ORDERS"
"$SS_BIN/streamscore-features" -c "$C" --redis.prefix a: dump >"$D/features1.jsonl" 2>"$D/dump1.log"
$PY "$REF" compare-features "$D/ref_features.jsonl" "$D/features1.jsonl" || ss_fail "features differ (in order)"
"$SS_BIN/streamscore-features" -c "$C" --redis.prefix a: dump-demand >"$D/demand1.jsonl" 2>>"$D/dump1.log"
$PY "$REF" compare-demand "$D/ref_demand.jsonl" "$D/demand1.jsonl" || ss_fail "demand differs (in order)"
# The CustomerFeatures topic: the last event per customer (partitioned by customer) has the
# customer's final frequency, spend and returns.
"$SS_BIN/streamscore-tail" -c "$C" --from beginning --count "$N_CUST_ORDERS" --timeout 120 \
    customer-features >"$D/cf.jsonl" 2>"$D/cf.log" || ss_fail "tail customer-features failed"
$PY - "$D/cf.jsonl" "$D/ref_features.jsonl" <<'EOF' || ss_fail "CustomerFeatures events disagree"
import json, sys
last = {}
for l in open(sys.argv[1]):
    m = json.loads(l)
    v = m["value"]
    if v["customer_id"] in last and last[v["customer_id"]][0] > m["offset"]:
        continue
    last[v["customer_id"]] = (m["offset"], v)
ref = {json.loads(l)["customer_id"]: json.loads(l) for l in open(sys.argv[2])}
bad = 0
for cid, r in ref.items():
    v = last.get(cid, (0, None))[1]
    if v is None or v["frequency"] != r["frequency"] or v["return_count"] != r["return_count"] or \
            abs(v["total_spent"] - r["total_spent"]) > 1e-9 * max(1, abs(r["total_spent"])):
        bad += 1
        if bad < 5:
            print("customer", cid, "ref", r, "event", v)
print("CustomerFeatures: %d customers checked, %d bad" % (len(ref), bad))
sys.exit(1 if bad else 0)
EOF

# 2. Twice delivered, shuffled within days, then garbage and conflicting redeliveries.
ss_log "step 2: every order twice, shuffled within days, plus bad messages"
BROKERS=$(sed -n 's/^brokers=//p' "$C")
$PY - "$BROKERS" <<'EOF' || ss_fail "could not build the twice-delivered topic"
import random, sys
from confluent_kafka import Consumer, Producer, TopicPartition
brokers = sys.argv[1]
c = Consumer({"bootstrap.servers": brokers, "group.id": "e2e-copy", "enable.auto.commit": False,
              "auto.offset.reset": "earliest"})
md = c.list_topics("transactions", timeout=30)
parts = sorted(md.topics["transactions"].partitions)
msgs = []
for p in parts:
    lo, hi = c.get_watermark_offsets(TopicPartition("transactions", p), timeout=30)
    if hi <= lo:
        continue
    c.assign([TopicPartition("transactions", p, lo)])
    got = 0
    while got < hi - lo:
        m = c.poll(10)
        if m is None:
            sys.exit("timeout reading partition %d" % p)
        if m.error():
            continue
        msgs.append((m.key(), m.value()))
        got += 1
c.close()

def rd_long(b, i):
    r = shift = 0
    while True:
        x = b[i]; i += 1
        r |= (x & 0x7F) << shift; shift += 7
        if not x & 0x80:
            return (r >> 1) ^ -(r & 1), i

def event_time(v):  # Transaction: order_id, customer_id (union), store_id, event_time
    i = 5
    n, i = rd_long(v, i); i += n
    u, i = rd_long(v, i)
    if u == 1:
        n, i = rd_long(v, i); i += n
    n, i = rd_long(v, i); i += n
    t, i = rd_long(v, i)
    return t

days = {}
for k, v in msgs + msgs:
    days.setdefault(event_time(v) // 86400000, []).append((k, v))
rnd = random.Random(7)
p = Producer({"bootstrap.servers": brokers, "enable.idempotence": True, "linger.ms": 20})
n = 0
for d in sorted(days):
    rnd.shuffle(days[d])
    for k, v in days[d]:
        p.produce("transactions-twice", key=k, value=v)
        n += 1
        if n % 5000 == 0:
            p.poll(0)
# Bad input at the end: two undecodable payloads and three conflicting redeliveries (currency,
# the record's last field, changed from GBP to GBQ).
p.produce("transactions-twice", key=b"x", value=b"not avro at all")
p.produce("transactions-twice", key=b"y", value=msgs[0][1][:9])
for k, v in msgs[100:103]:
    p.produce("transactions-twice", key=k, value=v[:-1] + b"Q")
left = p.flush(60)
if left:
    sys.exit("%d messages not delivered" % left)
print("produced", n + 5)
EOF
P2=$(free_port)
ss_bg features2 "$SS_BIN/streamscore-features" -c "$C" "${MODE_ARGS[@]}" --group.id e2e-2 --redis.prefix b: \
    --topic.transactions transactions-twice --session.timeout.ms 6000 --batch.size 2000 \
    --metrics.port "$P2"
# Redis outage in the middle: stop redis-server, keep it down for a while, restart it (same port,
# AOF data, empty script cache). The service pauses, backs off, reloads the script, resumes.
ss_wait_for 120 sh -c "[ \$(curl -s http://127.0.0.1:$P2/metrics | awk '/^streamscore_features_orders_applied_total /{print int(\$2)}') -ge $((N / 3)) ]" ||
    ss_fail "features2 did not get going"
OLD_REDIS=$SS_REDIS_PID
kill -TERM "$OLD_REDIS"
ss_wait_for 20 sh -c "! kill -0 $OLD_REDIS 2>/dev/null" || ss_fail "redis did not stop"
ss_wait_for 30 grep -q "redis unavailable, pausing" "$D/features2.log" || ss_fail "no pause logged"
ss_redis_restart
wait_processed "$P2" $((2 * N + 5))
[ "$(metric "$P2" streamscore_features_redis_retries_total)" -gt 0 ] || ss_fail "no retry counted"
grep -q "resuming" "$D/features2.log" || ss_fail "no resume logged"
# A batch whose reply was lost in the outage is retried: its orders then count as duplicates.
APPLIED=$(metric "$P2" streamscore_features_orders_applied_total)
DUPS=$(metric "$P2" streamscore_features_orders_duplicate_total)
ss_log "applied=$APPLIED duplicates=$DUPS"
[ $((APPLIED + DUPS)) = $((2 * N)) ] || ss_fail "applied + duplicates != $((2 * N))"
[ "$APPLIED" -le "$N" ] || ss_fail "applied $APPLIED > $N"
[ "$(metric "$P2" streamscore_features_orders_conflict_total)" = 3 ] || ss_fail "conflicts != 3"
[ "$(metric "$P2" streamscore_features_dead_letters_total)" = 5 ] || ss_fail "dead letters != 5"
"$SS_BIN/streamscore-features" -c "$C" --redis.prefix b: dump --as-of "$AS_OF" >"$D/features2.jsonl" 2>"$D/dump2.log"
$PY "$REF" compare-features "$D/ref_features.jsonl" "$D/features2.jsonl" || ss_fail "features differ (twice, shuffled)"
"$SS_BIN/streamscore-features" -c "$C" --redis.prefix b: dump-demand >"$D/demand2.jsonl" 2>>"$D/dump2.log"
$PY "$REF" compare-demand "$D/ref_demand.jsonl" "$D/demand2.jsonl" || ss_fail "demand differs (twice, shuffled)"
"$SS_BIN/streamscore-tail" -c "$C" --from beginning --count 5 --timeout 60 transactions.dlq \
    >"$D/dlq.jsonl" 2>"$D/dlq.log" || ss_fail "tail dlq failed"
[ "$(grep -c '"CONFLICT"' "$D/dlq.jsonl")" = 3 ] || ss_fail "expected 3 CONFLICT dead letters"
[ "$(grep -c '"DECODE"' "$D/dlq.jsonl")" = 2 ] || ss_fail "expected 2 DECODE dead letters"

# 3. Clean shutdown.
ss_log "step 3: SIGTERM"
for pid in "$F1" "$SS_LAST_PID"; do
    kill -TERM "$pid"
    wait "$pid" || ss_fail "features (pid $pid) exited non-zero on SIGTERM"
done
ss_log "ok"
