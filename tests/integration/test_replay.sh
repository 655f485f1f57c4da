#!/usr/bin/env bash
# streamscore-replay and streamscore-gen against the local stack: every parsed order arrives on
# the topic exactly once (kcat counts offsets, streamscore-tail decodes), rejected rows are
# listed with their line numbers, gen's bad records go out as raw payloads, a replay that cannot
# deliver exits non-zero, and (when ../shared is present) the whole UCI Online Retail file
# replays with a balanced accounting.
. "$(dirname "$0")/lib.sh"

R="$SS_BIN/streamscore-replay"
G="$SS_BIN/streamscore-gen"
TAIL="$SS_BIN/streamscore-tail"
for x in "$R" "$G" "$TAIL"; do [ -x "$x" ] || ss_fail "missing $x (build first)"; done
command -v kcat >/dev/null || ss_fail "kcat not installed (scripts/setup)"
D=$SS_TEST_DIR

T1=$(ss_topic replay-native)
T2=$(ss_topic replay-gen)
T3=$(ss_topic replay-retail)
ss_start_stack --partitions "$T1=4,$T2=4,$T3=12"

# count_topic topic: number of messages on the topic (one line per offset: payloads are binary).
count_topic() { kcat -C -b "$BROKERS" -t "$1" -e -q -f '%o\n' | wc -l; }

# 1. Native CSV written by the generator, with bad rows: the dry run's order count is what lands.
"$G" --seed 3 --customers 60 --days 14 --bad-rate 0.02 --out "$D/sample.csv" 2>"$D/gen-csv.log" ||
    ss_fail "gen --out failed"
"$R" --dry-run --rejects "$D/sample-rejects.csv" "$D/sample.csv" >"$D/dry.out" 2>"$D/dry.log" ||
    ss_fail "replay --dry-run failed"
grep -q "^accounting *balanced" "$D/dry.out" || ss_fail "unbalanced: $(cat "$D/dry.out")"
N1=$(awk '/^orders/ {print $2}' "$D/dry.out")
REJ=$(awk '/^rows rejected/ {print $3}' "$D/dry.out")
[ "$N1" -gt 100 ] || ss_fail "too few orders in the sample: $N1"
[ "$REJ" -gt 0 ] || ss_fail "the bad rows were not rejected"
[ "$(($(wc -l <"$D/sample-rejects.csv") - 1))" -eq "$REJ" ] ||
    ss_fail "rejects file does not list every rejected row"
ss_log "sample: $N1 orders, $REJ rows rejected"

"$R" -c "$SS_STACK_CONF" --topic.transactions "$T1" --speed 2000000 "$D/sample.csv" \
    >"$D/replay1.out" 2>"$D/replay1.log" || ss_fail "replay of the sample failed"
grep -q "^events *$N1 produced, $N1 delivered, 0 failed" "$D/replay1.out" ||
    ss_fail "unexpected replay report: $(tail -1 "$D/replay1.out")"
got=$(count_topic "$T1")
[ "$got" -eq "$N1" ] || ss_fail "kcat sees $got messages on $T1, expected $N1"
"$TAIL" -c "$SS_STACK_CONF" --count "$N1" --timeout $((60 * SS_TIMEOUT_MULT)) "$T1" \
    >"$D/tail1.json" 2>"$D/tail1.log" || ss_fail "streamscore-tail failed"
[ "$(wc -l <"$D/tail1.json")" -eq "$N1" ] || ss_fail "tail decoded $(wc -l <"$D/tail1.json") events"
# every event decodes, ids are distinct, and returns are there
[ "$(grep -o '"order_id":"[^"]*"' "$D/tail1.json" | sort -u | wc -l)" -eq "$N1" ] ||
    ss_fail "duplicate or missing order ids on $T1"
grep -q '"RETURN"' "$D/tail1.json" || ss_fail "no RETURN event on $T1"

# 2. The generator straight to Kafka: good events plus raw bad payloads.
"$G" -c "$SS_STACK_CONF" --topic.transactions "$T2" --seed 5 --customers 80 --days 10 \
    --bad-rate 0.3 >"$D/gen.out" 2>"$D/gen.log" || ss_fail "gen to kafka failed"
N2=$(awk '{print $2}' "$D/gen.out")
grep -q "^events $N2 (bad [0-9]*) produced, $N2 delivered, 0 failed" "$D/gen.out" ||
    ss_fail "unexpected gen report: $(cat "$D/gen.out")"
got=$(count_topic "$T2")
[ "$got" -eq "$N2" ] || ss_fail "kcat sees $got messages on $T2, expected $N2"
# payloads that are not framed Avro at all (JSON text) are among them (grep -c reads everything:
# an early exit would fail the pipeline with kcat's SIGPIPE)
raw=$(kcat -C -b "$BROKERS" -t "$T2" -e -q -f '%s\n' | grep -c 'json instead of avro' || true)
[ "$raw" -gt 0 ] || ss_fail "no raw bad payload on $T2"
ss_log "gen: $N2 events, $raw raw JSON payloads"

# 3. Delivery failure is an error: no broker listens on port 1.
if "$R" --brokers 127.0.0.1:1 -X message.timeout.ms=1500 --topic.transactions "$T1" \
    --limit 5 "$D/sample.csv" >"$D/nobroker.out" 2>"$D/nobroker.log"; then
    ss_fail "replay without a broker exited 0"
fi
grep -q "0 delivered, 5 failed" "$D/nobroker.out" ||
    ss_fail "unexpected report without broker: $(cat "$D/nobroker.out")"

# 4. The full UCI Online Retail file (541,909 rows) when ../shared is there.
OR="$SS_SHARED_DIR/data/online_retail.csv.gz"
if [ ! -f "$OR" ]; then
    echo "PASS (online retail skipped: $OR absent): $N1 + $N2 events"
    exit 0
fi
"$R" -c "$SS_STACK_CONF" --topic.transactions "$T3" --format online-retail \
    --rejects "$D/or-rejects.csv" "$OR" >"$D/or.out" 2>"$D/or.log" ||
    ss_fail "online retail replay failed"
cat "$D/or.out" >&2
grep -q "^rows read *541909$" "$D/or.out" || ss_fail "rows read"
grep -q "^rows rejected *1339$" "$D/or.out" || ss_fail "rows rejected"
grep -q "^accounting *balanced" "$D/or.out" || ss_fail "accounting"
grep -q "^events *24561 produced, 24561 delivered, 0 failed" "$D/or.out" || ss_fail "delivery"
[ "$(($(wc -l <"$D/or-rejects.csv") - 1))" -eq 1339 ] || ss_fail "rejects file"
grep -q '^2408,write-off,' "$D/or-rejects.csv" || ss_fail "first write-off not at line 2408"
got=$(count_topic "$T3")
[ "$got" -eq 24561 ] || ss_fail "kcat sees $got messages on $T3, expected 24561"
# content spot checks on the decoded events: the first invoice and the first cancellation
"$TAIL" -c "$SS_STACK_CONF" --count 24561 --timeout $((120 * SS_TIMEOUT_MULT)) "$T3" \
    >"$D/tail3.json" 2>"$D/tail3.log" || ss_fail "streamscore-tail of $T3 failed"
[ "$(wc -l <"$D/tail3.json")" -eq 24561 ] || ss_fail "tail decoded $(wc -l <"$D/tail3.json")"
first=$(grep '"order_id":"536365"' "$D/tail3.json") || ss_fail "invoice 536365 missing"
for want in '"key":"17850"' '"customer_id":"17850"' '"store_id":"United Kingdom"' \
    '"event_time":1291191960000' '"kind":"PURCHASE"' '"product_id":"85123A","quantity":6' \
    '"product_id":"21730","quantity":6'; do
    [[ $first == *"$want"* ]] || ss_fail "invoice 536365 lacks $want: $first"
done
cancel=$(grep '"order_id":"C536379"' "$D/tail3.json") || ss_fail "invoice C536379 missing"
[[ $cancel == *'"kind":"RETURN","lines":[{"product_id":"D","quantity":1,'* ]] ||
    ss_fail "C536379 is not a RETURN of 1 unit: $cancel"
anon=$(grep -c '"customer_id":null' "$D/tail3.json" || true)
[ "$anon" -eq 2371 ] || ss_fail "$anon anonymous events, expected 2371"
echo "PASS: $N1 + $N2 + 24561 events"
