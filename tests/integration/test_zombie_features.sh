#!/usr/bin/env bash
# Zombie instance: two streamscore-features instances share the input; one is frozen (SIGSTOP)
# mid-stream for longer than its session timeout, so its partitions move to the other, which
# goes on applying orders of the same customers; then it is thawed (SIGCONT) and finds out it
# lost them - possibly after handling messages it had already fetched. Twice, alternating. At
# the end (group drained) the feature store equals the batch computation exactly: a zombie's
# late work must be deduplicated, never applied over the new owner's state.
# Runs in the service's default state.mode; SS_FEATURES_STATE_MODE=local tests the cached mode.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rel_lib.sh"

D=$SS_TEST_DIR
GROUP=zombie-$$
"$SS_BIN/streamscore-gen" --customers 300 --days 90 --seed 13 --out "$D/orders.csv" 2>"$D/gen.log" ||
    ss_fail "gen failed"
N=$(rel_csv_to_jsonl "$D/orders.csv" "$D/orders.jsonl")
ss_log "$N orders, state.mode=${SS_FEATURES_STATE_MODE:-default}"
ss_start_stack --partitions "transactions=4"
C=$SS_STACK_CONF

declare -A PID PORT
start() {
    PORT[$1]=$(rel_free_port)
    ss_bg "$1" "$SS_BIN/streamscore-features" -c "$C" --group.id "$GROUP" --redis.prefix zb: \
        --session.timeout.ms 6000 --batch.size 100 --metrics.port "${PORT[$1]}"
    PID[$1]=$SS_LAST_PID
}
assigned() { [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${PORT[$1]}/readyz")" = 200 ]; }
applied() { rel_metric "${PORT[$1]}" streamscore_features_orders_applied_total; }

start f1
start f2
ss_wait_for 60 assigned f1 || ss_fail "f1 got no partitions"
ss_wait_for 60 assigned f2 || ss_fail "f2 got no partitions"
# ~45 s of input (both freezes fall inside it): few customers, so both instances keep touching
# the same ones.
ss_bg replay "$SS_BIN/streamscore-replay" -c "$C" --format native --rate $((N / 45)) "$D/orders.csv"
REPLAY=$SS_LAST_PID

freeze() { # freeze VICTIM OTHER
    local a
    ss_wait_for 30 sh -c "[ \$(curl -s http://127.0.0.1:${PORT[$1]}/metrics | awk '/^streamscore_features_orders_applied_total /{print \$2}') -gt 0 ] 2>/dev/null" ||
        ss_fail "$1 applied nothing before the freeze"
    ss_log "SIGSTOP $1 (applied $(applied "$1"))"
    kill -STOP "${PID[$1]}"
    a=$(applied "$2")
    sleep 11 # session timeout 6 s + rebalance
    [ "$(applied "$2")" -gt "$a" ] || ss_fail "$2 applied nothing while $1 was frozen"
    kill -CONT "${PID[$1]}"
    ss_log "SIGCONT $1 ($2 applied $(($(applied "$2") - a)) meanwhile)"
    ss_wait_for 60 assigned "$1" || ss_fail "$1 got no partitions back after the thaw"
}
freeze f1 f2
freeze f2 f1
wait "$REPLAY" || ss_fail "replay failed: $(tail -3 "$D/replay.log")"
rel_wait_drained "$GROUP" transactions 120 || ss_fail "the group did not catch up"
for f in f1 f2; do
    kill -0 "${PID[$f]}" 2>/dev/null || ss_fail "$f died: $(tail -3 "$D/$f.log")"
    ss_log "$f: applied $(applied "$f"), duplicates $(rel_metric "${PORT[$f]}" streamscore_features_orders_duplicate_total)"
    kill -TERM "${PID[$f]}"
    wait "${PID[$f]}" || ss_fail "$f exited non-zero on SIGTERM"
done
rel_compare zb: "$D/orders.jsonl" "after two frozen instances"
ss_log "ok"
