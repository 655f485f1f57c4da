#!/usr/bin/env bash
# ss_kafka end to end on the local stack: the idempotent producer delivers N messages; a group
# consumer with store-after-work reads part of them and closes; a restarted consumer of the same
# group resumes from the committed offsets: together they saw every message (no loss) and the
# second run did not start over. kcat is the independent oracle for what the topic holds.
. "$(dirname "$0")/lib.sh"

N=1000
T=$(ss_topic kt-roundtrip)
G=g-$T
K="$SS_BIN/streamscore-kafkatool"
[ -x "$K" ] || ss_fail "missing $K"

ss_start_stack --partitions "$T=4"

"$K" -c "$SS_STACK_CONF" produce --topic "$T" --count $N >"$SS_TEST_DIR/produce.out" \
    2>"$SS_TEST_DIR/produce.log" || ss_fail "produce failed"
grep -qx "delivered=$N failed=0" "$SS_TEST_DIR/produce.out" ||
    ss_fail "unexpected producer report: $(cat "$SS_TEST_DIR/produce.out")"

got=$(kcat -C -b "$BROKERS" -t "$T" -e -q -f '%s\n' | wc -l)
[ "$got" -eq $N ] || ss_fail "kcat sees $got messages in $T, expected $N"

# Run 1 stops after 400 messages (at a batch boundary) and closes: final commit.
"$K" -c "$SS_STACK_CONF" consume --topic "$T" --group.id "$G" --count 400 --batch 50 \
    --timeout $((60 * SS_TIMEOUT_MULT)) >"$SS_TEST_DIR/run1.out" 2>"$SS_TEST_DIR/run1.log" ||
    ss_fail "consumer run 1 failed"
n1=$(wc -l <"$SS_TEST_DIR/run1.out")
[ "$n1" -ge 400 ] || ss_fail "run 1 consumed $n1 messages, expected at least 400"

# Run 2 resumes and reads until idle.
"$K" -c "$SS_STACK_CONF" consume --topic "$T" --group.id "$G" --idle $((5 * SS_TIMEOUT_MULT)) \
    --timeout $((90 * SS_TIMEOUT_MULT)) >"$SS_TEST_DIR/run2.out" 2>"$SS_TEST_DIR/run2.log" ||
    ss_fail "consumer run 2 failed"
n2=$(wc -l <"$SS_TEST_DIR/run2.out")

distinct=$(sort -u "$SS_TEST_DIR/run1.out" "$SS_TEST_DIR/run2.out" | wc -l)
dupes=$((n1 + n2 - distinct))
ss_log "run1=$n1 run2=$n2 distinct=$distinct duplicates=$dupes"
[ "$distinct" -eq $N ] || ss_fail "lost messages: $distinct distinct of $N"
seq 0 $((N - 1)) | sed 's/^/m/' | sort >"$SS_TEST_DIR/expected"
sort -u "$SS_TEST_DIR/run1.out" "$SS_TEST_DIR/run2.out" | cmp -s - "$SS_TEST_DIR/expected" ||
    ss_fail "consumed values differ from m0..m$((N - 1))"
# Resumed, not restarted: run 2 must not re-read what run 1 committed.
[ "$n2" -lt $N ] || ss_fail "run 2 re-read everything ($n2): committed offsets not used"
[ "$n2" -le $((N - n1 + 100)) ] || ss_fail "run 2 re-read too much: $n2 after $n1"
# Statistics reached the consumer: one lag line per assigned partition.
nlag=$(grep -c "^lag topic=$T partition=" "$SS_TEST_DIR/run2.log" || true)
[ "$nlag" -eq 4 ] || ss_fail "expected lag for 4 partitions, got $nlag"
echo "PASS: $N produced, $n1 + $n2 consumed, $dupes duplicates"
