#!/usr/bin/env bash
# streamscore-recommender against the local stack with the UCI Online Retail file:
#  1. replay the first $SS_RECO_LIMIT orders (default: all 24,561; 6,000 when SS_TIMEOUT_MULT > 1,
#     i.e. under sanitizers) to a private transactions topic, run
#     the service in its own group, and compare the lookup API's top-5 for 500 random customers
#     (plus unknown ids: popular) with tests/integration/reco_reference.py, an independent batch
#     implementation on the same events (dumped with streamscore-tail): same method, same products,
#     scores within 1e-9 relative; and there is one Recommendation event per applied purchase,
#     keyed by its customer;
#  2. stop it (SIGTERM: final snapshot to Redis, offsets committed), start it again, replay the
#     same orders a second time: every one is a duplicate, nothing is produced, answers unchanged.
# Skips (passes with a message) when ../shared/data/online_retail.csv.gz is absent.
. "$(dirname "$0")/lib.sh"

OR="$SS_SHARED_DIR/data/online_retail.csv.gz"
[ -f "$OR" ] || ss_skip "$OR absent"
R="$SS_BIN/streamscore-replay"
TAIL="$SS_BIN/streamscore-tail"
RECO="$SS_BIN/streamscore-recommender"
for x in "$R" "$TAIL" "$RECO"; do [ -x "$x" ] || ss_fail "missing $x (build first)"; done
D=$SS_TEST_DIR
if [ "$SS_TIMEOUT_MULT" -gt 1 ]; then LIMIT=${SS_RECO_LIMIT:-6000}; else LIMIT=${SS_RECO_LIMIT:-24561}; fi
PY=/usr/bin/python3

TX=$(ss_topic reco-tx)
OUT=$(ss_topic reco-out)
ss_start_stack --partitions "$TX=6,$OUT=6"
PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT"
PREFIX="it:reco:$$:"

# metric NAME [LABEL-FILTER]: the sum of a metric's series (0 when absent or unreachable).
metric() {
    curl -sf "$URL/metrics" 2>/dev/null |
        awk -v n="$1" -v f="${2:-}" '{k = $1; sub(/[{].*/, "", k)} k == n && index($1, f) {s += $2}
            END {printf "%d\n", s}'
}
processed_is() { [ "$(metric streamscore_events_processed_total)" -eq "$1" ]; }
start_reco() {
    ss_bg "reco$1" "$RECO" -c "$SS_STACK_CONF" --topic.transactions "$TX" \
        --topic.recommendations "$OUT" --group.id "reco-it-$$" --redis.prefix "$PREFIX" \
        --metrics.port "$PORT" --session.timeout.ms 6000 --snapshot.interval.ms 1000
    RECO_PID=$SS_LAST_PID
    ss_wait_for 60 curl -sf "$URL/readyz" || ss_fail "recommender not ready"
}

# 1. replay, consume, compare
"$R" -c "$SS_STACK_CONF" --topic.transactions "$TX" --format online-retail --limit "$LIMIT" \
    --rejects "$D/rejects.csv" "$OR" >"$D/replay.out" 2>"$D/replay.log" || ss_fail "replay failed"
grep -q "^events *$LIMIT produced, $LIMIT delivered, 0 failed" "$D/replay.out" ||
    ss_fail "unexpected replay report: $(tail -1 "$D/replay.out")"
t0=$SECONDS
start_reco 1
ss_wait_for 120 processed_is "$LIMIT" ||
    ss_fail "processed $(metric streamscore_events_processed_total) of $LIMIT events"
APPLIED=$(metric streamscore_reco_orders_total 'result="applied"')
IGNORED=$(metric streamscore_reco_orders_total 'result="ignored"')
ss_log "processed $LIMIT events in $((SECONDS - t0)) s: applied $APPLIED, ignored $IGNORED"
[ "$APPLIED" -gt 1000 ] || ss_fail "only $APPLIED purchases applied"
[ "$(metric streamscore_reco_orders_total 'result="invalid"')" -eq 0 ] || ss_fail "invalid events"
"$TAIL" -c "$SS_STACK_CONF" --count "$LIMIT" --timeout $((60 * SS_TIMEOUT_MULT)) "$TX" \
    >"$D/tx.json" 2>"$D/tail-tx.log" || ss_fail "tail of $TX failed"
"$TAIL" -c "$SS_STACK_CONF" --count "$APPLIED" --timeout $((60 * SS_TIMEOUT_MULT)) "$OUT" \
    >"$D/reco.json" 2>"$D/tail-reco.log" || ss_fail "tail of $OUT failed"
$PY "$SS_SOURCE_DIR/tests/integration/reco_reference.py" --events "$D/tx.json" --url "$URL" \
    --sample 500 --seed 7 --reco-events "$D/reco.json" >"$D/ref1.out" 2>&1 ||
    ss_fail "streamed recommendations differ from the batch reference: $(cat "$D/ref1.out")"
cat "$D/ref1.out" >&2
grep -q "'popular': [2-9]" "$D/ref1.out" || ss_fail "unknown customers did not get popular"
# the lookup API rejects a bad n and other paths
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/customers/x/recommendations?n=0")" = 400 ] ||
    ss_fail "n=0 not rejected"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/customers/x/other")" = 404 ] ||
    ss_fail "unknown path not 404"

# 2. restart from the snapshot, then a full redelivery of the same orders
kill -TERM "$RECO_PID"
wait "$RECO_PID" || ss_fail "recommender exited non-zero on SIGTERM"
[ "$(ss_redis_cli strlen "${PREFIX}snapshot")" -gt 1000 ] || ss_fail "no snapshot in redis"
start_reco 2
grep -q "state restored" "$D/reco2.log" || ss_fail "state not restored from the snapshot"
"$R" -c "$SS_STACK_CONF" --topic.transactions "$TX" --format online-retail --limit "$LIMIT" \
    "$OR" >"$D/replay2.out" 2>"$D/replay2.log" || ss_fail "second replay failed"
ss_wait_for 60 processed_is "$LIMIT" ||
    ss_fail "after restart: processed $(metric streamscore_events_processed_total) of $LIMIT"
DUP=$(metric streamscore_reco_orders_total 'result="duplicate"')
[ "$DUP" -eq "$APPLIED" ] || ss_fail "after restart: $DUP duplicates, expected $APPLIED"
[ "$(metric streamscore_reco_orders_total 'result="applied"')" -eq 0 ] ||
    ss_fail "redelivered orders were applied again"
[ "$(metric streamscore_reco_produced_total)" -eq 0 ] || ss_fail "duplicates produced events"
$PY "$SS_SOURCE_DIR/tests/integration/reco_reference.py" --events "$D/tx.json" --url "$URL" \
    --sample 500 --seed 8 >"$D/ref2.out" 2>&1 ||
    ss_fail "after restart: answers differ from the batch reference: $(cat "$D/ref2.out")"
cat "$D/ref2.out" >&2
echo "PASS: $LIMIT events, $APPLIED purchases; 2 x 502 answers equal to the batch reference"
