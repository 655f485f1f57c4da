#!/usr/bin/env bash
# Sustained throughput of a group of streamscore-features instances on the generator workload,
# on the local stack: the topic is filled first, then N instances start together in one group
# and the group's applied orders/s is measured from the first applied order to the last (the sum
# of the instances' /metrics, polled every 0.1 s by bench/metrics_rate.py).
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
PARGS=()
for p in "${PORTS[@]}"; do PARGS+=(--port "$p"); done
# the clock starts at the first applied batch (the group join is excluded)
$PY "$(dirname "$0")/metrics_rate.py" "${PARGS[@]}" --interval 0.1 --timeout 900 --target "$N" \
    --metric streamscore_features_orders_applied_total \
    --metric streamscore_features_orders_duplicate_total \
    --metric streamscore_features_dead_letters_total >"$D/rate.json" ||
    ss_fail "the group did not finish: $(cat "$D/rate.json")"
$PY -c 'import json, sys; print("%.0f" % json.load(open(sys.argv[1]))["rate"])' "$D/rate.json" >"$D/rate.out"
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
