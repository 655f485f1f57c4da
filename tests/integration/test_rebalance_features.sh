#!/usr/bin/env bash
# Rebalance: three streamscore-features instances in one consumer group share the input while a
# generator dataset is replayed at a steady rate; one is killed with SIGKILL mid-stream (its
# partitions move to the others after its session expires), another leaves orderly (SIGTERM)
# and a fresh instance joins. At the end (group drained) the feature store equals the batch
# computation of the CSV exactly: no order lost or counted twice across the moves.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rel_lib.sh"

D=$SS_TEST_DIR
GROUP=rebalance-$$
"$SS_BIN/streamscore-gen" --customers 1500 --days 90 --seed 11 --out "$D/orders.csv" 2>"$D/gen.log" ||
    ss_fail "gen failed"
N=$(rel_csv_to_jsonl "$D/orders.csv" "$D/orders.jsonl")
ss_log "$N orders"
ss_start_stack
C=$SS_STACK_CONF

declare -A PID PORT
start() { # start NAME
    PORT[$1]=$(rel_free_port)
    ss_bg "$1" "$SS_BIN/streamscore-features" -c "$C" --group.id "$GROUP" --redis.prefix rb: \
        --session.timeout.ms 6000 --batch.size 300 --metrics.port "${PORT[$1]}"
    PID[$1]=$SS_LAST_PID
}
assigned() { # assigned NAME: the instance holds partitions (/readyz 200)
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${PORT[$1]}/readyz")" = 200 ]
}
applied() { rel_metric "${PORT[$1]}" streamscore_features_orders_applied_total; }

start f1
start f2
start f3
for f in f1 f2 f3; do
    ss_wait_for 60 assigned "$f" || ss_fail "$f got no partitions"
done
ss_log "three instances assigned"
ss_bg replay "$SS_BIN/streamscore-replay" -c "$C" --format native --rate $((N / 25)) "$D/orders.csv"
REPLAY=$SS_LAST_PID

ss_wait_for 30 sh -c "[ \$(curl -s http://127.0.0.1:${PORT[f2]}/metrics | awk '/^streamscore_features_orders_applied_total /{print \$2}') -gt 500 ] 2>/dev/null" ||
    ss_fail "f2 applied nothing"
ss_log "SIGKILL f2 (applied $(applied f2))"
kill -KILL "${PID[f2]}"
wait "${PID[f2]}" 2>/dev/null || true
# Its partitions move once its session expires; f1 and f3 keep going meanwhile.
sleep 8
a1=$(applied f1) a3=$(applied f3)
ss_log "SIGTERM f3 (applied $a3), start f4"
kill -TERM "${PID[f3]}"
wait "${PID[f3]}" || ss_fail "f3 exited non-zero on SIGTERM"
start f4
ss_wait_for 60 assigned f4 || ss_fail "f4 got no partitions"
wait "$REPLAY" || ss_fail "replay failed: $(tail -3 "$D/replay.log")"
rel_wait_drained "$GROUP" transactions 120 || ss_fail "the group did not catch up"
[ "$(applied f1)" -gt "$a1" ] || ss_fail "f1 stopped applying"
[ "$(applied f4)" -gt 0 ] || ss_fail "f4 applied nothing"
ss_log "applied: f1 $(applied f1), f4 $(applied f4) (plus what f2 and f3 did)"
for f in f1 f4; do
    kill -TERM "${PID[$f]}"
    wait "${PID[$f]}" || ss_fail "$f exited non-zero on SIGTERM"
done
rel_compare rb: "$D/orders.jsonl" "after a kill, a leave and a join"
ss_log "ok"
