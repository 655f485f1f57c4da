#!/usr/bin/env bash
# streamscore-tail and ss_dlq on the local stack: tail prints one JSON object per event with
# topic/partition/offset/key/value (raw mode, from beginning, a group that resumes, --from end);
# dead letters published through ss_dlq are counted per code, carry dlq.* headers and decode as
# DeadLetter records; a value that is not Avro is reported in the line, not fatal.
. "$(dirname "$0")/lib.sh"

K="$SS_BIN/streamscore-kafkatool"
TAIL="$SS_BIN/streamscore-tail"
T=$(ss_topic tail-raw)
ss_start_stack --no-redis --partitions "$T=2"
C=$SS_STACK_CONF
to=$((30 * SS_TIMEOUT_MULT))

"$K" -c "$C" produce --topic "$T" --count 6 >"$SS_TEST_DIR/produce.out" 2>"$SS_TEST_DIR/produce.log"
grep -qx "delivered=6 failed=0" "$SS_TEST_DIR/produce.out" || ss_fail "produce: $(cat "$SS_TEST_DIR/produce.out")"

# Raw, no group, from the beginning: every event once, with its envelope.
"$TAIL" -c "$C" --raw --count 6 --timeout $to "$T" >"$SS_TEST_DIR/raw.out" 2>"$SS_TEST_DIR/raw.log"
[ "$(wc -l <"$SS_TEST_DIR/raw.out")" -eq 6 ] || ss_fail "tail printed $(wc -l <"$SS_TEST_DIR/raw.out") lines, expected 6"
jq -e --arg t "$T" 'select(.topic == $t and (.partition|type) == "number" and (.offset|type) == "number"
    and .key == ("k" + (.value|ltrimstr("m"))))' "$SS_TEST_DIR/raw.out" >/dev/null ||
    ss_fail "bad envelope: $(head -1 "$SS_TEST_DIR/raw.out")"
[ "$(jq -r .value "$SS_TEST_DIR/raw.out" | sort | tr '\n' ' ')" = "m0 m1 m2 m3 m4 m5 " ] ||
    ss_fail "values differ: $(jq -r .value "$SS_TEST_DIR/raw.out" | tr '\n' ' ')"

# With a group: 3 now, then the other 3 on the next run (offsets stored after printing).
"$TAIL" -c "$C" --raw --group.id "g-$T" --count 3 --timeout $to "$T" >"$SS_TEST_DIR/g1.out" 2>"$SS_TEST_DIR/g1.log"
"$TAIL" -c "$C" --raw --group.id "g-$T" --count 3 --timeout $to "$T" >"$SS_TEST_DIR/g2.out" 2>"$SS_TEST_DIR/g2.log"
[ "$(cat "$SS_TEST_DIR/g1.out" "$SS_TEST_DIR/g2.out" | jq -r .value | sort -u | wc -l)" -eq 6 ] ||
    ss_fail "group runs did not cover all 6 events"

# Dead letters: counted per code, delivered, decoded by tail with their headers.
"$K" -c "$C" dlq --topic transactions.dlq --count 4 >"$SS_TEST_DIR/dlq.out" 2>"$SS_TEST_DIR/dlq.log" ||
    ss_fail "dlq publish failed: $(cat "$SS_TEST_DIR/dlq.log")"
grep -qx "dead_letters=4 DECODE=2 INVALID=2 delivered=4 failed=0" "$SS_TEST_DIR/dlq.out" ||
    ss_fail "dlq counts: $(cat "$SS_TEST_DIR/dlq.out")"
"$TAIL" -c "$C" --count 4 --timeout $to transactions.dlq >"$SS_TEST_DIR/dlqtail.out" 2>"$SS_TEST_DIR/dlqtail.log"
[ "$(wc -l <"$SS_TEST_DIR/dlqtail.out")" -eq 4 ] || ss_fail "tail printed $(wc -l <"$SS_TEST_DIR/dlqtail.out") dead letters"
n=$(jq -e 'select(.value.source_topic == "transactions" and .value.service == "kafkatool"
        and .value.reason == ("synthetic failure " + (.value.offset|tostring))
        and .value.payload == ("bad" + (.value.offset|tostring))
        and .key == ("k" + (.value.offset|tostring))
        and .headers["dlq.reason"] == .value.reason
        and .headers["dlq.error_code"] == .value.error_code
        and .headers["dlq.source"] == ("transactions/0@" + (.value.offset|tostring))
        and (.value.error_code == "DECODE" or .value.error_code == "INVALID"))' \
    "$SS_TEST_DIR/dlqtail.out" | jq -s length)
[ "$n" -eq 4 ] || ss_fail "only $n of 4 dead letters are complete: $(head -1 "$SS_TEST_DIR/dlqtail.out")"

# Not Avro on an Avro topic: reported in the line, tail goes on.
printf 'xx\tnot avro\n' | kcat -b "$BROKERS" -P -t churn-scores -K '\t'
"$TAIL" -c "$C" --count 1 --timeout $to churn-scores >"$SS_TEST_DIR/bad.out" 2>"$SS_TEST_DIR/bad.log"
jq -e '.value == null and (.error|length) > 0 and .raw == "not avro" and .key == "xx"' \
    "$SS_TEST_DIR/bad.out" >/dev/null || ss_fail "undecodable value not reported: $(cat "$SS_TEST_DIR/bad.out")"

# --from end: only what is produced after the start.
ss_bg tailend "$TAIL" -c "$C" --raw --from end --count 1 --timeout $to "$T"
ss_wait_for 10 grep -q "assigned\|consumer" "$SS_TEST_DIR/tailend.log" || true
sleep 1 # let the END offsets resolve before producing (no observable signal for that)
"$K" -c "$C" produce --topic "$T" --count 1 --start 100 >/dev/null 2>&1
wait "$SS_LAST_PID" || ss_fail "tail --from end failed"
[ "$(jq -r .value "$SS_TEST_DIR/tailend.out")" = m100 ] || ss_fail "tail --from end printed: $(cat "$SS_TEST_DIR/tailend.out")"
echo "PASS"
