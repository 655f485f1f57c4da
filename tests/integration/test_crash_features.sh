#!/usr/bin/env bash
# Crash and restart, with a broker outage folded in: a generator dataset (2000 customers, 120
# days, ~57k orders) is replayed at a steady rate while streamscore-features is killed with
# SIGKILL at random moments and restarted, several times; mid-way the stack's fault broker goes
# down and comes back. At the end (group drained) the feature store equals the batch computation
# of the CSV (rfm_reference.py): exact counts and days, 1e-9 relative amounts; demand exact.
# Nothing lost (offsets are stored only after Redis acknowledged), nothing counted twice (an
# order redelivered after a crash is a duplicate and changes nothing).
# SS_CRASH_SEED=N replays the same kill schedule; SS_CRASH_KILLS=N (default 5);
# SS_CRASH_X="-X name=value ..." adds librdkafka properties to the service.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rel_lib.sh"

D=$SS_TEST_DIR
SEED=${SS_CRASH_SEED:-$$}
KILLS=${SS_CRASH_KILLS:-5}
RANDOM=$SEED
GROUP=crash-$$
ss_log "seed $SEED, $KILLS kills"

"$SS_BIN/streamscore-gen" --customers 2000 --days 120 --seed 3 --out "$D/orders.csv" 2>"$D/gen.log" ||
    ss_fail "gen failed"
N=$(rel_csv_to_jsonl "$D/orders.csv" "$D/orders.jsonl")
ss_log "$N orders"

ss_start_stack
C=$SS_STACK_CONF
# ~40 s of input: each kill-restart cycle costs 5-10 s of group rejoin (the dead member's
# session must expire), so most kills land while new input is being applied.
ss_bg replay "$SS_BIN/streamscore-replay" -c "$C" --format native --rate $((N / 40)) "$D/orders.csv"
REPLAY=$SS_LAST_PID

PORT=$(rel_free_port)
read -ra XARGS <<<"${SS_CRASH_X:-}"
start_features() {
    ss_bg "features$1" "$SS_BIN/streamscore-features" -c "$C" --group.id "$GROUP" --redis.prefix cr: \
        --session.timeout.ms "${SS_CRASH_SESSION_MS:-6000}" --batch.size 500 --metrics.port "$PORT" "${XARGS[@]}"
    FPID=$SS_LAST_PID
}

for ((k = 1; k <= KILLS; k++)); do
    start_features "$k"
    # A random moment while batches are being applied: once this run has applied something
    # (after the group join; or once the replay is over), 0 to 1.5 s later.
    ss_wait_for 30 sh -c "! kill -0 $REPLAY || [ \$(curl -s http://127.0.0.1:$PORT/metrics | awk '/^streamscore_features_orders_applied_total /{print \$2}') -gt 0 ] 2>/dev/null" ||
        ss_fail "features $k applied nothing in 30 s"
    delay=$((RANDOM % 1500))
    sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
    applied=$(rel_metric "$PORT" streamscore_features_orders_applied_total)
    kill -0 "$FPID" 2>/dev/null || ss_fail "features $k exited by itself: $(tail -3 "$D/features$k.log")"
    kill -KILL "$FPID"
    wait "$FPID" 2>/dev/null || true
    ss_log "kill $k ${delay} ms after the first batch (applied $applied in this run)"
    if [ "$k" = 2 ]; then
        # The fault broker is down for 8 s, whatever the service is doing meanwhile (it may hold
        # the group coordinator: then no instance can join until it is back).
        (
            ss_broker_down
            ss_log "broker down"
            sleep 8
            ss_broker_up
            ss_log "broker up"
        ) &
        FAULT=$!
    fi
done
wait "$FAULT"
wait "$REPLAY" || ss_fail "replay failed: $(tail -3 "$D/replay.log")"
grep -q "^events *$N produced, $N delivered, 0 failed" "$D/replay.out" ||
    ss_fail "replay: $(cat "$D/replay.out")"

ss_log "final run: draining the group"
start_features final
rel_wait_drained "$GROUP" transactions 120 || ss_fail "features did not catch up"
ss_log "final run: applied $(rel_metric "$PORT" streamscore_features_orders_applied_total)," \
    "redelivered duplicates ignored $(rel_metric "$PORT" streamscore_features_orders_duplicate_total)"
kill -TERM "$FPID"
wait "$FPID" || ss_fail "features exited non-zero on SIGTERM"
ss_log "comparing with the batch computation"
rel_compare cr: "$D/orders.jsonl" "after $KILLS kills"
ss_log "ok: exact after $KILLS SIGKILLs and a broker outage (seed $SEED)"
