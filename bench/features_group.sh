#!/usr/bin/env bash
# Sustained throughput of a group of streamscore-features instances on the generator workload,
# on the local stack: the topic is filled first, then N instances start together in one group
# and the group's applied orders/s is measured from the first applied order to the last (the sum
# of the instances' /metrics, polled every 0.1 s).
#   bench/features_group.sh [customers] [days] [instances]      (defaults 20000 90 2)
# Needs a build: SS_BIN (default build/bin). Prints orders/s, the assignments each instance went
# through (a rebalance during the run shows as more than one) and the CPU split.
. "$(dirname "$0")/../tests/integration/lib.sh"

CUSTOMERS=${1:-20000}
DAYS=${2:-90}
K=${3:-2}
PY=/usr/bin/python3
ss_start_stack --partitions "transactions=64,customer-features=32"
C=$SS_STACK_CONF
D=$SS_TEST_DIR
"$SS_BIN/streamscore-gen" -c "$C" --customers "$CUSTOMERS" --days "$DAYS" >"$D/gen.out" 2>"$D/gen.log" ||
    ss_fail "gen failed"
N=$(grep -o '[0-9]* delivered' "$D/gen.out" | awk '{print $1}')
ss_log "$N events on 'transactions'; starting $K instances"
PORTS=()
PIDS=()
for j in $(seq 1 "$K"); do
    P=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    ss_bg "features$j" "$SS_BIN/streamscore-features" -c "$C" --group.id bench-group \
        --metrics.port "$P" --session.timeout.ms 6000 ${SS_FEATURES_ARGS:-}
    PORTS+=("$P")
    PIDS+=("$SS_LAST_PID")
done
$PY - "$N" "${PORTS[@]}" >"$D/rate.out" <<'PYEOF' || ss_fail "the group did not finish"
import sys, time, urllib.request
n, ports = int(sys.argv[1]), [int(p) for p in sys.argv[2:]]
def done():
    s = 0
    for port in ports:
        try:
            txt = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5).read().decode()
        except OSError:
            continue
        for l in txt.splitlines():
            for m in ("orders_applied_total", "orders_duplicate_total", "dead_letters_total"):
                if l.startswith("streamscore_features_" + m + " "):
                    s += float(l.split()[1])
    return s
deadline, start = time.time() + 900, None
while time.time() < deadline:
    d = done()
    if d > 0 and start is None:
        start, d0 = time.time(), d
    if d >= n:
        print("%.0f" % ((d - d0) / (time.time() - start)))
        sys.exit(0)
    time.sleep(0.1)
sys.exit(1)
PYEOF
CPU_F=0
for p in "${PIDS[@]}"; do
    CPU_F=$($PY -c "print($CPU_F + $(awk '{ print ($14 + $15) / 100 }' "/proc/$p/stat"))")
done
REDIS_CPU=$(redis-cli -p "$REDIS_PORT" info cpu | awk -F: '/^used_cpu_(user|sys):/ { s += $2 } END { print s }')
echo "workload: $N events ($CUSTOMERS customers, $DAYS days), $K instances of streamscore-features"
echo "group: $(cat "$D/rate.out") orders/s"
for j in $(seq 1 "$K"); do
    echo "instance $j: $(grep -c 'assigned' "$D/features$j.log") assignment(s)"
done
echo "cpu seconds (whole run): instances=$CPU_F redis-server(incl. generation)=$REDIS_CPU"
