#!/usr/bin/env bash
# Soak: streamscore-features under a steady generator load on the local stack for a long time
# (default 10 minutes), sampling every 10 s: orders applied, the service's RSS, Redis
# used_memory / used_memory_dataset and key count, the group lag. Writes the samples as CSV and
# prints a verdict: is the service's RSS flat after warm-up, and is Redis growth explained by
# the state the data creates (linear in the orders applied, at a plausible cost per order)?
#   bench/soak.sh [--duration S] [--rate R] [--customers C] [--interval S] [--out FILE]
#     --duration  seconds of load (default 600)        --rate      orders/s (default 2000)
#     --customers generator customers (default 20000)  --interval  sampling period (default 10)
#     --out       CSV path (default ./soak-<UTC time>.csv)
#     --analyze FILE   only print the verdicts of an earlier run's CSV
# Needs a build: SS_BIN (default build/bin). Exit 0 when both verdicts are OK, 1 otherwise.
# Procedure and last figures: docs/reliability.md "Soak".
. "$(dirname "$0")/../tests/integration/lib.sh"
. "$(dirname "$0")/../tests/integration/rel_lib.sh"

DURATION=600 RATE=2000 CUSTOMERS=20000 INTERVAL=10 ANALYZE=
OUT=$PWD/soak-$(date -u +%Y%m%dT%H%M%SZ).csv
while [ $# -gt 0 ]; do
    case $1 in
    --duration) DURATION=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --customers) CUSTOMERS=$2; shift 2 ;;
    --interval) INTERVAL=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --analyze) ANALYZE=$2; shift 2 ;;
    -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) ss_fail "unknown argument '$1'" ;;
    esac
done
# analyze CSV RATE: prints the verdicts; exit status 0 when both hold.
analyze() {
    $REL_PY - "$1" "$2" <<'EOF'
import csv, sys
rows = [{k: float(v) for k, v in r.items()} for r in csv.DictReader(open(sys.argv[1]))]
rate = float(sys.argv[2])
if len(rows) < 4:
    sys.exit("too few samples (%d): run longer" % len(rows))
first, last = rows[0], rows[-1]
span = last["elapsed_s"] - first["elapsed_s"]
applied = last["orders_applied"] - first["orders_applied"]
print("duration %.0f s, %d samples, %.0f orders applied (%.0f/s, target %.0f/s), %d dead letters, final lag %d"
      % (span, len(rows), applied, applied / max(span, 1), rate, last["dead_letters"], last["group_lag"]))
# Service RSS: after warm-up (first quarter), compare the second quarter with the last one.
q = max(1, len(rows) // 4)
def med(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]
rss_warm = med([r["features_rss_kb"] for r in rows[q:2 * q]])
rss_end = med([r["features_rss_kb"] for r in rows[-q:]])
rss_max = max(r["features_rss_kb"] for r in rows)
rss_ok = rss_end <= rss_warm * 1.10 + 4096
print("features RSS: %.0f KiB after warm-up, %.0f KiB at the end, max %.0f KiB -> %s"
      % (rss_warm, rss_end, rss_max, "flat" if rss_ok else "GROWING"))
# Redis: the state the data explains grows with the orders: one dedupe field per order
# (o:<order_id> -> fingerprint, kept while the customer's hash lives; docs/redis.md), plus the
# products and days they add; customers saturate early. So after warm-up the dataset must grow
# linearly with the orders applied (a tight fit) at a plausible cost per order (<= 1 KiB).
# (Keys and orders both grow with time, so a fit on both is ill-posed; keys are reported only.)
import numpy as np
w = rows[q:]
a, b = w[0], w[-1]
print("redis: keys %d -> %d, orders %d -> %d, dataset %.1f -> %.1f MiB, used_memory %.1f MiB at the end"
      % (a["redis_keys"], b["redis_keys"], a["orders_applied"], b["orders_applied"],
         a["redis_used_memory_dataset"] / 2**20, b["redis_used_memory_dataset"] / 2**20,
         b["redis_used_memory"] / 2**20))
y = np.array([r["redis_used_memory_dataset"] for r in w])
x = np.array([r["orders_applied"] for r in w])
c, a0 = np.polyfit(x, y, 1)
fit = a0 + c * x
ss_res = float(((y - fit) ** 2).sum())
ss_tot = float(((y - y.mean()) ** 2).sum()) or 1.0
r2 = 1 - ss_res / ss_tot
worst = float(np.max(np.abs(y - fit)) / max(y.max(), 1))
print("redis: dataset = %.1f MiB + %.0f B/order x orders (R^2 %.4f, worst residual %.1f%%); %.0f bytes per key at the end"
      % (a0 / 2**20, c, r2, 100 * worst, b["redis_used_memory_dataset"] / max(b["redis_keys"], 1)))
redis_ok = (r2 >= 0.99 or worst <= 0.03) and 0 <= c <= 1024
print("redis growth %s" % ("explained by the state (linear in orders: dedupe entry and order data)"
                           if redis_ok else "NOT explained by the orders applied"))
sys.exit(0 if rss_ok and redis_ok else 1)
EOF
}
if [ -n "$ANALYZE" ]; then
    analyze "$ANALYZE" "$RATE"
    exit
fi
# The mock keeps ~5 MiB per partition: spread input and output wide so nothing is dropped
# before it is consumed.
ss_start_stack --partitions "transactions=32,customer-features=32"
C=$SS_STACK_CONF
PORT=$(rel_free_port)
ss_bg features "$SS_BIN/streamscore-features" -c "$C" --group.id soak --session.timeout.ms 6000 \
    --metrics.port "$PORT"
FPID=$SS_LAST_PID
ss_wait_for 30 curl -sf "http://127.0.0.1:$PORT/livez" || ss_fail "features did not start"
# Enough event days that the generator outlasts the run (about 0.24 orders per customer-day).
DAYS=$(/usr/bin/python3 -c "print(min(36500, int($RATE * $DURATION / (0.2 * $CUSTOMERS)) + 30))")
ss_log "load: $RATE orders/s for $DURATION s, $CUSTOMERS customers over up to $DAYS event days"
ss_bg gen "$SS_BIN/streamscore-gen" -c "$C" --customers "$CUSTOMERS" --days "$DAYS" --rate "$RATE"
GEN=$SS_LAST_PID

lag() {
    $REL_PY - "$BROKERS" <<'EOF' 2>/dev/null || echo -1
import sys
from confluent_kafka import Consumer, TopicPartition
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": "soak", "enable.auto.commit": False})
tps = [TopicPartition("transactions", p) for p in c.list_topics("transactions", timeout=10).topics["transactions"].partitions]
lag = 0
for tp in c.committed(tps, timeout=10):
    lo, hi = c.get_watermark_offsets(tp, timeout=10)
    lag += hi - (tp.offset if tp.offset >= 0 else lo)
c.close()
print(lag)
EOF
}
info() { ss_redis_cli info memory | tr -d '\r' | awk -F: -v k="$1" '$1 == k { print $2 }'; }

echo "elapsed_s,orders_applied,dead_letters,features_rss_kb,redis_used_memory,redis_used_memory_dataset,redis_keys,group_lag" >"$OUT"
start=$SECONDS
next=0
while :; do
    el=$((SECONDS - start))
    if [ "$el" -ge "$next" ]; then
        kill -0 "$FPID" 2>/dev/null || ss_fail "features died at ${el} s"
        rss=$(ps -o rss= -p "$FPID" | tr -d ' ')
        echo "$el,$(rel_metric "$PORT" streamscore_features_orders_applied_total),$(rel_metric "$PORT" streamscore_features_dead_letters_total),$rss,$(info used_memory),$(info used_memory_dataset),$(ss_redis_cli dbsize),$(lag)" >>"$OUT"
        next=$((next + INTERVAL))
    fi
    [ "$el" -ge "$DURATION" ] && break
    kill -0 "$GEN" 2>/dev/null || { ss_log "generator finished early at ${el} s"; break; }
    sleep 1
done
kill -TERM "$GEN" 2>/dev/null || true
ss_log "samples in $OUT"

analyze "$OUT" "$RATE"
