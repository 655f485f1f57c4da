#!/usr/bin/env bash
# Injected broker request errors (the stack's control directory: rd_kafka_mock_push_request_errors
# and rd_kafka_mock_broker_push_request_error_rtts) on a generator dataset (500 customers, 60
# days, 6,885 orders; the dataset of bench/faults.sh):
# 1. streamscore-replay (idempotent producer) while the next 60 Produce requests fail with
#    retriable errors (NOT_LEADER_OR_FOLLOWER, REQUEST_TIMED_OUT, NOT_ENOUGH_REPLICAS,
#    NOT_ENOUGH_REPLICAS_AFTER_APPEND, LEADER_NOT_AVAILABLE, a disconnect): every kind is seen
#    by the producer, every order is delivered and the topic holds each order exactly once;
# 2. the duplicate-causing case, a Produce appended but its response lost (delayed past
#    socket.timeout.ms), while streamscore-features consumes that topic and its Fetch and
#    OffsetCommit requests fail (NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PART, REQUEST_TIMED_OUT,
#    disconnects; COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR, REBALANCE_IN_PROGRESS ...): every
#    injected error is consumed; no order lost on the topic, its duplicates (the mock cannot
#    drop them, see docs/reliability.md) are identical copies; Redis features and demand equal
#    the batch computation (rfm_reference.py); every customer order has a CustomerFeatures event.
# Mock limits met here (docs/reliability.md "Broker request errors"): the 2.0.2 mock checks
# producer sequence numbers only for transactional producers, so step 1 runs the producer with
# max.in.flight=1 (with 5 in flight an injected error can lose orders that librdkafka reports
# delivered: IMPLICITACK) and step 2 cannot assert "exactly once" on the topic.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rel_lib.sh"

B=$SS_BIN
D=$SS_TEST_DIR
T1=$(ss_topic be-a)
T2=$(ss_topic be-b)
CF=$(ss_topic be-cf)
GROUP=be-$$
for tool in kcat jq curl; do
    command -v "$tool" >/dev/null || ss_fail "'$tool' not found"
done

"$B/streamscore-gen" --customers 500 --days 60 --seed 5 --out "$D/orders.csv" 2>"$D/gen.log" ||
    ss_fail "gen failed"
N=$(rel_csv_to_jsonl "$D/orders.csv" "$D/orders.jsonl")
ss_log "$N orders"
ss_start_stack --partitions "$T1=6,$T2=6,$CF=6"
C=$SS_STACK_CONF
# Each broker leads 2 partitions of each topic, so every broker's injected errors are met.
for t in "$T1" "$T2" "$CF"; do
    ss_stack_ctl "leader $t 0 1" "leader $t 1 2" "leader $t 2 3" "leader $t 3 1" "leader $t 4 2" \
        "leader $t 5 3" >/dev/null || ss_fail "cannot move the leaders of $t"
done

# topic_check TOPIC OUT: every event of TOPIC (streamscore-tail JSON lines) into OUT; prints
# "total distinct" (distinct order ids); fails if kcat and streamscore-tail disagree on the count.
topic_check() {
    local total
    total=$(kcat -C -b "$BROKERS" -t "$1" -e -q -f '%o\n' | wc -l)
    "$B/streamscore-tail" -c "$C" --count "$total" --timeout $((30 * SS_TIMEOUT_MULT)) "$1" \
        >"$2" 2>>"$D/tail.log" || ss_fail "tail $1 failed: $(tail -2 "$D/tail.log")"
    [ "$(wc -l <"$2")" = "$total" ] || ss_fail "tail read $(wc -l <"$2") of $total events of $1"
    echo "$total $(jq -r .value.order_id "$2" | sort -u | wc -l)"
}

# coordinator GROUP: the id of the broker coordinating GROUP (a FindCoordinator v0 request, which
# does not touch the group).
coordinator() {
    $REL_PY - "$BROKERS" "$1" <<'EOF'
import socket, struct, sys
host, port = sys.argv[1].split(",")[0].rsplit(":", 1)
def kstr(s):
    b = s.encode()
    return struct.pack(">h", len(b)) + b
req = struct.pack(">hhi", 10, 0, 1) + kstr("be-test") + kstr(sys.argv[2])
s = socket.create_connection((host, int(port)), timeout=10)
s.sendall(struct.pack(">i", len(req)) + req)
def recv(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            sys.exit("connection closed")
        b += c
    return b
body = recv(struct.unpack(">i", recv(4))[0])
corr, err, node = struct.unpack(">ihi", body[:10])
if err:
    sys.exit("FindCoordinator error %d" % err)
print(node)
EOF
}

# 1. Retriable Produce errors, cluster-wide: the next 60 Produce requests (any broker) fail.
ss_broker_errors Produce 60 NOT_LEADER_OR_FOLLOWER REQUEST_TIMED_OUT NOT_ENOUGH_REPLICAS \
    NOT_ENOUGH_REPLICAS_AFTER_APPEND LEADER_NOT_AVAILABLE _TRANSPORT ||
    ss_fail "the stack refused the Produce errors"
"$B/streamscore-replay" -c "$C" --topic.transactions "$T1" --format native --rate 4000 \
    -X max.in.flight=1 -X debug=msg --log.level debug "$D/orders.csv" \
    >"$D/replay1.out" 2>"$D/replay1.log" || ss_fail "replay 1 failed: $(tail -3 "$D/replay1.log")"
grep -q "^events *$N produced, $N delivered, 0 failed" "$D/replay1.out" ||
    ss_fail "replay 1: $(grep events "$D/replay1.out")"
seen=""
for e in "Not leader for partition" "Request timed out" "Not enough in-sync replicas" \
    "insufficient number of in-sync replicas" "Leader not available" "Broker transport failure"; do
    k=$(grep -c "encountered error: .*$e" "$D/replay1.log" || true)
    [ "$k" -gt 0 ] || ss_fail "the producer never saw '$e'"
    seen="$seen $k"
done
read -r total uniq <<<"$(topic_check "$T1" "$D/t1.jsonl")"
ss_log "step 1: the producer retried through$seen injected errors; $T1 holds $total events, $uniq orders"
[ "$uniq" = "$N" ] || ss_fail "$T1 holds $uniq distinct orders of $N: lost"
[ "$total" = "$N" ] || ss_fail "$T1 holds $total events for $N orders: duplicates"

# 2. The features service consumes T2 while T2 is written with lost Produce responses and while
# its own Fetch and OffsetCommit requests fail. Errors are pushed per broker, so that their
# consumption can be counted. OffsetCommits go only to the group coordinator: its errors are
# pushed before the service starts and are met by its first commits, which follow its first
# applied batches (nothing is committed before).
COORD=$(coordinator "$GROUP") || ss_fail "cannot find the coordinator of $GROUP"
ss_broker_errors_on "$COORD" OffsetCommit 6 COORDINATOR_NOT_AVAILABLE REQUEST_TIMED_OUT \
    NOT_COORDINATOR COORDINATOR_LOAD_IN_PROGRESS _TRANSPORT REBALANCE_IN_PROGRESS ||
    ss_fail "the stack refused the OffsetCommit errors"
PORT=$(rel_free_port)
ss_bg features "$B/streamscore-features" -c "$C" --topic.transactions "$T2" --topic.features "$CF" \
    --group.id "$GROUP" --redis.prefix be: --session.timeout.ms 6000 --batch.size 200 \
    --metrics.port "$PORT" -X auto.commit.interval.ms=300
FPID=$SS_LAST_PID
# Appended, response delayed 3 s past the producer's 1.5 s socket timeout: the producer retries
# a batch the log already holds (twice per broker).
ss_broker_errors_on all Produce 2 NO_ERROR:3000 || ss_fail "the stack refused the Produce delays"
ss_bg replay2 "$B/streamscore-replay" -c "$C" --topic.transactions "$T2" --format native \
    --rate $((N / 8)) -X socket.timeout.ms=1500 "$D/orders.csv"
REPLAY=$SS_LAST_PID
ss_wait_for 30 sh -c "[ \$(curl -s http://127.0.0.1:$PORT/metrics | awk '/^streamscore_features_orders_applied_total /{print \$2}') -gt 0 ] 2>/dev/null" ||
    ss_fail "features applied nothing in 30 s: $(tail -3 "$D/features.log")"
# Once it applies: Fetch errors on every broker (each leads partitions of T2).
ss_broker_errors_on all Fetch 6 NOT_LEADER_OR_FOLLOWER UNKNOWN_TOPIC_OR_PART REQUEST_TIMED_OUT \
    _TRANSPORT NOT_LEADER_OR_FOLLOWER:500 REPLICA_NOT_AVAILABLE ||
    ss_fail "the stack refused the Fetch errors"
wait "$REPLAY" || ss_fail "replay 2 failed: $(tail -3 "$D/replay2.log")"
grep -q "^events *$N produced, $N delivered, 0 failed" "$D/replay2.out" ||
    ss_fail "replay 2: $(grep events "$D/replay2.out")"
grep -q "Timed out ProduceRequest in flight" "$D/replay2.log" ||
    ss_fail "the replay lost no Produce response (delays not applied?)"
rel_wait_drained "$GROUP" "$T2" 60 || ss_fail "features did not catch up"
# Fetch requests go on while the consumer polls and commits follow each applied batch: every
# injected error is used up within seconds of the group being drained.
pending_all() { # "Produce Fetch OffsetCommit" errors left on the broker stacks
    echo "$(ss_broker_errors_pending all Produce) $(ss_broker_errors_pending all Fetch)" \
        "$(ss_broker_errors_pending all OffsetCommit)"
}
all_used() { [ "$(pending_all)" = "0 0 0" ]; }
ss_wait_for 15 all_used || true
read -r produce_left fetch_left commit_left <<<"$(pending_all)"
[ "$produce_left" = 0 ] || ss_fail "$produce_left delayed Produce responses were never used"
[ "$fetch_left" = 0 ] || ss_fail "$fetch_left injected Fetch errors never reached a Fetch"
[ "$commit_left" = 0 ] || ss_fail "$commit_left injected OffsetCommit errors never reached a commit (coordinator $COORD)"
ss_log "step 2: 6 delayed Produce responses, 18 Fetch and 6 OffsetCommit errors (coordinator" \
    "broker $COORD) consumed; applied $(rel_metric "$PORT" streamscore_features_orders_applied_total)," \
    "duplicates ignored $(rel_metric "$PORT" streamscore_features_orders_duplicate_total)"
kill -TERM "$FPID"
wait "$FPID" || ss_fail "features exited non-zero on SIGTERM"

read -r total uniq <<<"$(topic_check "$T2" "$D/t2.jsonl")"
ss_log "step 2: $T2 holds $total events, $uniq orders ($((total - uniq)) duplicates from lost responses)"
[ "$uniq" = "$N" ] || ss_fail "$T2 holds $uniq distinct orders of $N: lost"
$REL_PY - "$D/t2.jsonl" <<'EOF' || ss_fail "a duplicate differs from its original"
import json, sys
seen = {}
for l in open(sys.argv[1]):
    m = json.loads(l)
    v = (m["key"], m["value"])
    o = seen.setdefault(m["value"]["order_id"], v)
    if o != v:
        sys.exit("order %s: %s != %s" % (m["value"]["order_id"], o, v))
EOF
rel_compare be: "$D/orders.jsonl" "after lost Produce responses, Fetch and OffsetCommit errors"

read -r total uniq <<<"$(topic_check "$CF" "$D/cf.jsonl")"
$REL_PY - "$D/orders.jsonl" "$D/cf.jsonl" <<'EOF' || ss_fail "CustomerFeatures events lost"
import json, sys
want = {o["order_id"] for o in map(json.loads, open(sys.argv[1])) if o["customer_id"] is not None}
got = {json.loads(l)["value"]["order_id"] for l in open(sys.argv[2])}
lost = sorted(want - got)
print("CustomerFeatures: %d customer orders, %d with an event, %d lost %s"
      % (len(want), len(want & got), len(lost), lost[:5]), file=sys.stderr)
sys.exit(1 if lost else 0)
EOF
ss_log "ok: $CF holds $total events for $uniq orders"
