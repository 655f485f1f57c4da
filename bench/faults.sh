#!/usr/bin/env bash
# Broker request errors, long form of tests/integration/test_broker_errors.sh (producer side):
# every round replays the same generator dataset into fresh topics through streamscore-replay
# (idempotent producer) in three cases, and counts what the topic holds against what was sent:
#   inflight1  ERRORS retriable Produce errors (ERRORS/3 per broker), max.in.flight=1 (as the test)
#   inflight5  the same errors with librdkafka's idempotent default max.in.flight=5
#   lostresp   2 Produce responses per broker delayed 3 s past socket.timeout.ms=1500
#              (appended, acknowledgement lost)
#   bench/faults.sh [--rounds N] [--errors M] [--customers C] [--days D] [--out FILE]
#     --rounds    rounds (default 10)        --errors  Produce errors per round (default 60)
#     --customers generator customers (500)  --days    generator days (60)
#     --out       CSV path (default ./faults-<UTC time>.csv)
# Needs a build: SS_BIN (default build/bin). Prints per case: rounds, orders lost (rounds with a
# loss), duplicates (min/median/max). Exit 0 when inflight1 never lost or duplicated and no case
# lost an order the producer reported as failed. Figures: docs/reliability.md
# "Broker request errors".
. "$(dirname "$0")/../tests/integration/lib.sh"
. "$(dirname "$0")/../tests/integration/rel_lib.sh"

ROUNDS=10 ERRORS=60 CUSTOMERS=500 DAYS=60
OUT=$PWD/faults-$(date -u +%Y%m%dT%H%M%SZ).csv
while [ $# -gt 0 ]; do
    case $1 in
    --rounds) ROUNDS=$2; shift 2 ;;
    --errors) ERRORS=$2; shift 2 ;;
    --customers) CUSTOMERS=$2; shift 2 ;;
    --days) DAYS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) ss_fail "unknown argument '$1'" ;;
    esac
done
B=$SS_BIN
D=$SS_TEST_DIR
"$B/streamscore-gen" --customers "$CUSTOMERS" --days "$DAYS" --seed 5 --out "$D/orders.csv" \
    2>"$D/gen.log" || ss_fail "gen failed"
parts=""
for ((r = 1; r <= ROUNDS; r++)); do
    parts="$parts,f$r-inflight1=6,f$r-inflight5=6,f$r-lostresp=6"
done
ss_start_stack --no-redis --partitions "${parts#,}"
C=$SS_STACK_CONF
# each broker leads 2 of every topic's 6 partitions, so each broker's injected errors are met
for ((r = 1; r <= ROUNDS; r++)); do
    for case in inflight1 inflight5 lostresp; do
        ss_stack_ctl "leader f$r-$case 0 1" "leader f$r-$case 1 2" "leader f$r-$case 2 3" \
            "leader f$r-$case 3 1" "leader f$r-$case 4 2" "leader f$r-$case 5 3" >/dev/null
    done
done

# count TOPIC: prints "total distinct" (distinct payloads = distinct orders: each holds its id)
count() {
    $REL_PY - "$BROKERS" "$1" <<'EOF'
import sys, time
from confluent_kafka import Consumer, TopicPartition
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": "faults-count",
              "enable.auto.commit": False})
topic = sys.argv[2]
parts = sorted(c.list_topics(topic, timeout=30).topics[topic].partitions)
total, seen = 0, set()
deadline = time.time() + 60
for p in parts:
    lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)
    if hi <= lo:
        continue
    c.assign([TopicPartition(topic, p, lo)])
    got = lo
    while got < hi:
        if time.time() > deadline:
            sys.exit("%s [%d]: read up to offset %d of %d in 60 s" % (topic, p, got, hi))
        for m in c.consume(1000, 5):
            if m.error():
                continue
            total += 1
            seen.add(m.value())
            got = m.offset() + 1
c.close()
print(total, len(seen))
EOF
}

echo "round,case,produced,delivered,failed,total,distinct,lost,duplicates,unconsumed" >"$OUT"
for ((r = 1; r <= ROUNDS; r++)); do
    for case in inflight1 inflight5 lostresp; do
        t=f$r-$case
        x=()
        case $case in
        inflight1 | inflight5)
            # per broker (ERRORS/3 each), so that their consumption can be counted; also, once
            # a broker has a Produce stack it shadows the cluster-wide one (docs/reliability.md)
            ss_broker_errors_on all Produce $((ERRORS / 3)) NOT_LEADER_OR_FOLLOWER REQUEST_TIMED_OUT \
                NOT_ENOUGH_REPLICAS NOT_ENOUGH_REPLICAS_AFTER_APPEND LEADER_NOT_AVAILABLE _TRANSPORT
            [ "$case" = inflight1 ] && x=(-X max.in.flight=1)
            ;;
        lostresp)
            ss_broker_errors_on all Produce 2 NO_ERROR:3000
            x=(-X socket.timeout.ms=1500)
            ;;
        esac
        "$B/streamscore-replay" -c "$C" --topic.transactions "$t" --format native --rate 4000 \
            "${x[@]}" "$D/orders.csv" >"$D/replay.out" 2>"$D/replay.log" ||
            ss_fail "replay failed: $(tail -3 "$D/replay.log")"
        read -r prod deliv failed <<<"$(sed -n 's/^events *\([0-9]*\) produced, \([0-9]*\) delivered, \([0-9]*\) failed.*/\1 \2 \3/p' "$D/replay.out")"
        cnt=$(count "$t") || ss_fail "cannot count $t"
        read -r total distinct <<<"$cnt"
        lost=$((prod - distinct))
        left=$(ss_broker_errors_pending all Produce)
        echo "$r,$case,$prod,$deliv,$failed,$total,$distinct,$lost,$((total - distinct)),$left" >>"$OUT"
        ss_log "round $r $case: delivered $deliv/$prod, topic $total events, $distinct orders," \
            "lost $lost, duplicates $((total - distinct)), injected errors left $left"
    done
done
$REL_PY - "$OUT" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
ok = True
for case in ("inflight1", "inflight5", "lostresp"):
    rs = [r for r in rows if r["case"] == case]
    lost = [int(r["lost"]) - int(r["failed"]) for r in rs]
    dups = [int(r["duplicates"]) for r in rs]
    print("%-9s %2d rounds: orders lost though delivered %d (in %d rounds, max %d); duplicates "
          "min %d median %g max %d; delivery failures %d"
          % (case, len(rs), sum(lost), sum(1 for x in lost if x), max(lost), min(dups),
             statistics.median(dups), max(dups), sum(int(r["failed"]) for r in rs)))
    if case == "inflight1" and (any(lost) or any(dups)):
        ok = False
print("CSV: %s" % sys.argv[1])
sys.exit(0 if ok else 1)
EOF
