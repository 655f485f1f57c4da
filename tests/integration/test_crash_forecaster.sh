#!/usr/bin/env bash
# Crash and restart of streamscore-forecaster: a year of store-item demand (stores 1-3, items
# 1-5, 2017) is in the feature store, the store-days up to 2017-12-01 are recorded as done and
# 2017-12-31 is closed, so catchup=all has 30 closed days x 3 stores to forecast (450
# DemandForecasts). The forecaster is killed with SIGKILL at random moments while it forecasts
# and restarted, 5 times; a final run finishes. A store-day takes only ~40 ms, so each kill is
# placed by progress rather than by a fixed time: after a random 1-10 store-days of the run,
# plus a random 0-99 ms (the log is polled every 0.1 s on top of that), which lands inside fits,
# deliveries or the gap before the fc:done HSET, and leaves work for every kill and the final
# run. Then (docs/forecasting.md "Done tracking"):
# - none lost: every (store, product) of every closed day has a forecast on the topic, and
#   fc:done says 2017-12-31 for every store;
# - duplicates only as documented: a crash between delivery and the fc:done HSET re-emits that
#   store-day after the restart, so at most one store-day per kill is repeated, and every
#   repeat is identical to the first emission (cold start: deterministic);
# - the same forecasts as an uninterrupted run: a reference forecaster over a copy of the data
#   (another redis.prefix, another topic) gives equal records for every (store, product, day).
# SS_CRASH_SEED=N replays the same kill schedule; SS_CRASH_KILLS=N (default 5).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rel_lib.sh"

B=$SS_BIN
D=$SS_TEST_DIR
DATA="$SS_SHARED_DIR/data/store_item_sales.csv.gz"
[ -f "$DATA" ] || ss_skip "$DATA absent"
command -v kcat >/dev/null || ss_fail "'kcat' not found"
SEED=${SS_CRASH_SEED:-$$}
KILLS=${SS_CRASH_KILLS:-5}
RANDOM=$SEED
T=$(ss_topic fcrash)
R=$(ss_topic fcref)
P="fcr$$:"
PR="fcref$$:"
STORES="1 2 3"
ss_log "seed $SEED, $KILLS kills"

# Orders: one per (day, store) with a line per item (quantity = sales), and one order per store on
# 2018-01-01 01:00:00.001, which closes 2017-12-31 (allowed lateness 1 h).
$REL_PY - "$DATA" "$D" <<'EOF' || ss_fail "cannot build the orders"
import json, sys
import pandas as pd
df = pd.read_csv(sys.argv[1])
df = df[df.store.isin([1, 2, 3]) & df.item.isin([1, 2, 3, 4, 5]) & (df.date >= "2017-01-01")]
df = df[df.sales > 0]
def ms(day, hour=12):
    return int(pd.Timestamp(day, tz="UTC").value // 1000000) + hour * 3600000
with open(sys.argv[2] + "/orders.jsonl", "w") as f:
    for (day, store), g in df.groupby(["date", "store"]):
        lines = [{"product_id": str(i), "quantity": int(q), "unit_price": 1.0}
                 for i, q in zip(g.item, g.sales)]
        f.write(json.dumps({"order_id": "o-%s-%d" % (day, store), "customer_id": None,
                            "store_id": str(store), "event_time": ms(day), "kind": "PURCHASE",
                            "lines": lines, "currency": "USD"}) + "\n")
    for store in (1, 2, 3):
        f.write(json.dumps({"order_id": "c-%d" % store, "customer_id": None,
                            "store_id": str(store), "event_time": ms("2018-01-01", 1) + 1,
                            "kind": "PURCHASE",
                            "lines": [{"product_id": "1", "quantity": 1, "unit_price": 1.0}],
                            "currency": "USD"}) + "\n")
EOF
ss_start_stack --partitions "$T=3,$R=3"
C=$SS_STACK_CONF
NORD=$(wc -l <"$D/orders.jsonl")
# The same data under two prefixes: one for the crashing forecaster, one for the reference.
for prefix in "$P" "$PR"; do
    "$B/streamscore-fstoretool" -c "$C" --redis.prefix "$prefix" --demand.allowed_lateness_ms 3600000 \
        apply <"$D/orders.jsonl" >"$D/apply.out" 2>"$D/apply.log" ||
        ss_fail "apply failed: $(tail -3 "$D/apply.log")"
    [ "$(grep -c '"status":"applied"' "$D/apply.out")" = "$NORD" ] || ss_fail "not every order applied"
    for s in $STORES; do
        ss_redis_cli HSET "${prefix}fc:done" "$s" 2017-12-01 >/dev/null
    done
done

# start_fc NAME PREFIX TOPIC: a forecaster in the background (log $D/NAME.log), pid in FC_PID.
start_fc() {
    ss_bg "$1" "$B/streamscore-forecaster" -c "$C" --redis.prefix "$2" --topic.forecasts "$3" \
        --catchup all --poll.interval.ms 200 --demand.allowed_lateness_ms 3600000
    FC_PID=$SS_LAST_PID
}
# all_done PREFIX: every store's fc:done is 2017-12-31.
all_done() {
    local s
    for s in $STORES; do
        [ "$(ss_redis_cli HGET "${1}fc:done" "$s")" = 2017-12-31 ] || return 1
    done
}

kills=0
for ((k = 1; k <= KILLS; k++)); do
    start_fc "fc$k" "$P" "$T"
    after=$((1 + RANDOM % 10))
    delay=$((RANDOM % 100))
    ss_wait_for 60 sh -c "[ \$(grep -c 'forecast store=' '$D/fc$k.log') -ge $after ] || ! kill -0 $FC_PID" ||
        ss_fail "forecaster $k did not forecast $after store-days in 60 s: $(tail -3 "$D/fc$k.log")"
    sleep "0.$(printf '%03d' "$delay")"
    kill -0 "$FC_PID" 2>/dev/null || ss_fail "forecaster $k exited by itself: $(tail -3 "$D/fc$k.log")"
    kill -KILL "$FC_PID"
    wait "$FC_PID" 2>/dev/null || true
    kills=$k
    ss_log "kill $k, ${delay} ms after its log showed $after store-days ($(grep -c 'forecast store=' "$D/fc$k.log") store-days in this run)"
    if all_done "$P"; then
        ss_log "every store-day was done after $k kills"
        break
    fi
done
ss_log "final run"
start_fc fcfinal "$P" "$T"
ss_wait_for 120 all_done "$P" || ss_fail "the final run did not finish: $(tail -3 "$D/fcfinal.log")"
kill -TERM "$FC_PID"
wait "$FC_PID" || ss_fail "forecaster exited non-zero on SIGTERM"

ss_log "reference: an uninterrupted forecaster over a copy of the data"
start_fc reference "$PR" "$R"
ss_wait_for 120 all_done "$PR" || ss_fail "the reference run did not finish: $(tail -3 "$D/reference.log")"
kill -TERM "$FC_PID"
wait "$FC_PID" || ss_fail "reference forecaster exited non-zero on SIGTERM"

# read_topic TOPIC OUT: every event of TOPIC (streamscore-tail JSON lines) into OUT; fails if kcat
# and streamscore-tail disagree on the count.
read_topic() {
    local total
    total=$(kcat -C -b "$BROKERS" -t "$1" -e -q -f '%o\n' | wc -l)
    "$B/streamscore-tail" -c "$C" --count "$total" --timeout $((30 * SS_TIMEOUT_MULT)) "$1" \
        >"$2" 2>>"$D/tail.log" || ss_fail "tail $1 failed: $(tail -2 "$D/tail.log")"
    [ "$(wc -l <"$2")" = "$total" ] || ss_fail "tail read $(wc -l <"$2") of $total events of $1"
}
read_topic "$T" "$D/crash.jsonl"
read_topic "$R" "$D/ref.jsonl"
$REL_PY - "$D/crash.jsonl" "$D/ref.jsonl" "$kills" <<'EOF' || ss_fail "forecast checks failed"
import collections, json, sys
def load(path):
    by = collections.defaultdict(list)
    for l in open(path):
        m = json.loads(l)
        v = m["value"]
        if v is None:
            sys.exit("undecodable forecast at %s offset %s" % (m.get("partition"), m.get("offset")))
        assert m["key"] == v["store_id"] + "/" + v["product_id"], m["key"]
        by[(v["store_id"], v["product_id"], v["generated_for_day"])].append(v)
    return by
crash, ref = load(sys.argv[1]), load(sys.argv[2])
kills = int(sys.argv[3])
d0 = 17502  # 2017-12-02 in days since 1970-01-01
want = {(s, p, d) for s in "123" for p in "12345" for d in range(d0, d0 + 30)}
bad = 0
def fail(msg):
    global bad
    bad += 1
    if bad <= 5:
        print(msg)
if set(ref) != want:
    fail("reference run: %d keys, expected %d" % (len(ref), len(want)))
if any(len(v) > 1 for v in ref.values()):
    fail("the uninterrupted run repeated forecasts")
lost = sorted(want - set(crash))
extra = sorted(set(crash) - want)
for k in lost[:5]:
    fail("lost: store %s product %s day %d" % k)
for k in extra[:5]:
    fail("unexpected: store %s product %s day %d" % k)
repeated_store_days = {(k[0], k[2]) for k, v in crash.items() if len(v) > 1}
nrep = sum(len(v) - 1 for v in crash.values())
for k, v in crash.items():
    for r in v[1:]:
        if r != v[0]:
            fail("repeat of %s differs from the first emission" % (k,))
    if k in ref and v[0] != ref[k][0]:
        fail("%s differs from the uninterrupted run: %s vs %s"
             % (k, v[0]["horizon"][:1], ref[k][0]["horizon"][:1]))
if len(repeated_store_days) > kills:
    fail("%d store-days repeated after %d kills (at most one per kill)"
         % (len(repeated_store_days), kills))
print("%d forecasts expected, %d lost, %d repeated (%d store-days, %d kills), %d checks failed"
      % (len(want), len(lost), nrep, len(repeated_store_days), kills, bad), file=sys.stderr)
sys.exit(1 if bad or lost else 0)
EOF
ss_log "ok: nothing lost, repeats identical, equal to the uninterrupted run (seed $SEED)"
