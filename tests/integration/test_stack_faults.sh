#!/usr/bin/env bash
# Fault drills on the local stack through ss_kafka:
# 1. broker 1 down while the idempotent producer sends: everything delivered exactly once after
#    it comes back (no failure, no duplicate);
# 2. a consumer pauses all partitions mid-run (the Redis-outage pattern), keeps polling, gets
#    nothing while paused, resumes and loses nothing;
# 3. a fatal producer error (rd_kafka_test_fatal_error) surfaces as SS_ERR_FATAL (exit 3).
. "$(dirname "$0")/lib.sh"

K="$SS_BIN/streamscore-kafkatool"
T=$(ss_topic faults)
N=2000
ss_start_stack --no-redis --partitions "$T=4"
C=$SS_STACK_CONF

# 1. Broker down during produce.
ss_broker_down
ss_wait_for 10 grep -q "broker 1 down" "$SS_TEST_DIR/stack.log"
ss_bg produce "$K" -c "$C" produce --topic "$T" --count $N
prod=$SS_LAST_PID
sleep 2 # the outage must overlap the sends; nothing observable to wait for
ss_broker_up
wait "$prod" || ss_fail "producer failed across the broker outage: $(tail -3 "$SS_TEST_DIR/produce.log")"
grep -qx "delivered=$N failed=0" "$SS_TEST_DIR/produce.out" ||
    ss_fail "producer report: $(cat "$SS_TEST_DIR/produce.out")"
kcat -C -b "$BROKERS" -t "$T" -e -q -f '%s\n' >"$SS_TEST_DIR/topic.txt"
total=$(wc -l <"$SS_TEST_DIR/topic.txt")
distinct=$(sort -u "$SS_TEST_DIR/topic.txt" | wc -l)
[ "$distinct" -eq $N ] || ss_fail "topic holds $distinct distinct messages, expected $N"
[ "$total" -eq $N ] || ss_fail "topic holds $total messages for $N sent: duplicates"

# 2. Pause/resume mid-consumption.
"$K" -c "$C" consume --topic "$T" --group.id "g-$T" --pause-ms $((3000 * SS_TIMEOUT_MULT)) \
    --idle $((5 * SS_TIMEOUT_MULT)) --timeout $((90 * SS_TIMEOUT_MULT)) \
    >"$SS_TEST_DIR/consume.out" 2>"$SS_TEST_DIR/consume.log" || ss_fail "consumer failed"
grep -q "paused 4 partitions" "$SS_TEST_DIR/consume.log" || ss_fail "no pause logged"
grep -q "resumed 4 partitions" "$SS_TEST_DIR/consume.log" || ss_fail "no resume logged"
got=$(sort -u "$SS_TEST_DIR/consume.out" | wc -l)
[ "$got" -eq $N ] || ss_fail "consumer saw $got distinct messages, expected $N"

# 3. Fatal error: SS_ERR_FATAL, exit status 3, reason reported.
set +e
"$K" -c "$C" produce --topic "$T" --count 100 --fatal-after 10 >"$SS_TEST_DIR/fatal.out" 2>"$SS_TEST_DIR/fatal.log"
rc=$?
set -e
[ "$rc" -eq 3 ] || ss_fail "fatal error gave exit status $rc, expected 3"
grep -q "kafka fatal error: .*kafkatool --fatal-after" "$SS_TEST_DIR/fatal.log" ||
    ss_fail "fatal reason not reported: $(tail -2 "$SS_TEST_DIR/fatal.log")"
echo "PASS"
