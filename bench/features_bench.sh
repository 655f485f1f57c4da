#!/usr/bin/env bash
# Sustained throughput of streamscore-features on the generator workload, on the local stack,
# next to a do-nothing consumer (streamscore-kafkatool consume > /dev/null) on the same topic.
#   bench/features_bench.sh [customers] [days] [batch.size] [state.mode]
#                                        (defaults 20000 90 8000 local; mode local|script)
# Needs a build: SS_BIN (default build/bin); SS_FEATURES_ARGS adds options to the service. Prints
# orders/s for both and Redis memory figures.
# The generator output is produced to Kafka first; throughput is then measured from the first
# applied order to the last (group join excluded) by polling /metrics every 0.2 s.
. "$(dirname "$0")/../tests/integration/lib.sh"

CUSTOMERS=${1:-20000}
DAYS=${2:-90}
BATCH=${3:-8000}
MODE=${4:-local}
PY=/usr/bin/python3
ss_start_stack --partitions "transactions=64,customer-features=32"
C=$SS_STACK_CONF
D=$SS_TEST_DIR

ss_log "generating $CUSTOMERS customers x $DAYS days"
"$SS_BIN/streamscore-gen" -c "$C" --customers "$CUSTOMERS" --days "$DAYS" >"$D/gen.out" 2>"$D/gen.log" ||
    ss_fail "gen failed"
N=$(awk '/delivered/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+$/) { print $i; exit } }' "$D/gen.out")
[ -n "$N" ] || N=$(grep -o '[0-9]* delivered' "$D/gen.out" | awk '{print $1}')
ss_log "$N events on 'transactions'"

now() { date +%s.%N; }

# Do-nothing consumer: the group join time is measured with --count 1 and subtracted.
t0=$(now)
"$SS_BIN/streamscore-kafkatool" -c "$C" consume --topic transactions --group.id bench-join \
    --count 1 --batch 1 >/dev/null 2>"$D/null1.log"
t1=$(now)
"$SS_BIN/streamscore-kafkatool" -c "$C" consume --topic transactions --group.id bench-null \
    --count "$N" --batch "$BATCH" --timeout 600 >/dev/null 2>"$D/null.log"
t2=$(now)
NULL_RATE=$($PY -c "n=$N; j=$t1-$t0; t=$t2-$t1-j; print('%.0f' % (n / t))")

PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ss_bg features "$SS_BIN/streamscore-features" -c "$C" --group.id bench-features \
    --batch.size "$BATCH" --metrics.port "$PORT" --session.timeout.ms 6000 --state.mode "$MODE" ${SS_FEATURES_ARGS:-}
FPID=$SS_LAST_PID
$PY - "$PORT" "$N" >"$D/rate.out" <<'EOF' || ss_fail "features did not finish"
import sys, time, urllib.request
port, n = int(sys.argv[1]), int(sys.argv[2])
def done():
    try:
        txt = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5).read().decode()
    except OSError:
        return 0
    s = 0
    for l in txt.splitlines():
        for m in ("orders_applied_total", "orders_duplicate_total", "dead_letters_total"):
            if l.startswith("streamscore_features_" + m + " "):
                s += float(l.split()[1])
    return s
deadline = time.time() + 900
start = None
while time.time() < deadline:
    d = done()
    if d > 0 and start is None:
        start, d0 = time.time(), d
    if d >= n:
        print("%.0f" % ((d - d0) / (time.time() - start)))
        sys.exit(0)
    time.sleep(0.2)
sys.exit(1)
EOF
FEAT_RATE=$(cat "$D/rate.out")
# What limits the figure: CPU seconds of the service, of redis-server and of the stack (mock
# brokers) over the whole features run, and the Redis commands it took.
FEAT_CPU=$(awk '{ print ($14 + $15) / 100 }' "/proc/$FPID/stat" 2>/dev/null || echo "?")
REDIS_CPU=$(redis-cli -p "$REDIS_PORT" info cpu | awk -F: '/^used_cpu_(user|sys):/ { s += $2 } END { print s }')
STACK_CPU=$(awk '{ print ($14 + $15) / 100 }' "/proc/$SS_STACK_PID/stat" 2>/dev/null || echo "?")
kill -TERM "$FPID"
wait "$FPID" || true
CPU=$(grep -o 'process_cpu_seconds_total [0-9.]*' "$D/features.out" 2>/dev/null || true)

echo "workload: $N events ($CUSTOMERS customers, $DAYS days, generator defaults), batch.size=$BATCH state.mode=$MODE"
echo "do-nothing consumer: $NULL_RATE orders/s"
echo "streamscore-features: $FEAT_RATE orders/s"
echo "cpu seconds (whole run incl. generation for redis/stack): features=$FEAT_CPU redis-server=$REDIS_CPU stack=$STACK_CPU"
redis-cli -p "$REDIS_PORT" info commandstats | grep -E 'calls=' | sed 's/,rejected_calls.*//'
redis-cli -p "$REDIS_PORT" info memory | grep -E '^used_memory:|^used_memory_human:'
redis-cli -p "$REDIS_PORT" dbsize
