#!/usr/bin/env bash
# integration.prometheus: every service's /metrics is valid Prometheus text and a real
# Prometheus scrapes them all. On the local stack, streamscore-replay feeds transactions;
# features, scorer, recommender, drift and forecaster run with metrics ports on loopback and
# statistics.interval.ms=1000. Asserts:
# - `promtool check metrics` accepts each service's exposition with no error and no lint
#   warning, and each has the common families (build info, process, producer; consumer lag,
#   assignment and broker round-trip times for the four consumers);
# - per-partition consumer lag appears once offsets are committed
#   (streamscore_consumer_lag_messages{topic,partition}, lag >= 0);
# - a Prometheus (Debian package; private temp dir, loopback port, scrape_interval 1s) reports
#   up == 1 for all five targets and returns data for streamscore_consumer_lag_messages and
#   streamscore_features_orders_applied_total;
# - graceful shutdown: each service exits 0 within 10 s of SIGTERM.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
B=$SS_BIN
D=$SS_TEST_DIR
for tool in curl promtool prometheus; do
    command -v "$tool" >/dev/null ||
        ss_fail "'$tool' not found (apt-get install -y prometheus curl)"
done

free_port() {
    $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

ss_start_stack --redis-appendonly false
C=$SS_STACK_CONF
# Faster statistics and commits than the defaults, so lag is known within seconds.
KX=(-X statistics.interval.ms=1000 -X auto.commit.interval.ms=1000)

ss_log "history, a churn model, and the transactions"
"$B/streamscore-gen" --out "$D/gen.csv" --customers 60 --days 300 --seed 5 2>"$D/gen.log" ||
    ss_fail "gen failed"
"$B/streamscore-train" --format native --out "$D/model" --version prom-v1 "$D/gen.csv" \
    >"$D/train.out" 2>"$D/train.log" || ss_fail "train failed"
"$B/streamscore-replay" -c "$C" "$D/gen.csv" >"$D/replay.out" 2>"$D/replay.log" ||
    ss_fail "replay failed"

SERVICES="features scorer recommender drift forecaster"
declare -A PORT PID
for s in $SERVICES; do
    PORT[$s]=$(free_port)
done
ss_bg features "$B/streamscore-features" -c "$C" "${KX[@]}" --group.id prom-features \
    --session.timeout.ms 6000 --metrics.port "${PORT[features]}"
PID[features]=$SS_LAST_PID
ss_bg scorer "$B/streamscore-scorer" -c "$C" "${KX[@]}" --group.id prom-scorer \
    --session.timeout.ms 6000 --model.path "$D/model" --replay false \
    --metrics.port "${PORT[scorer]}"
PID[scorer]=$SS_LAST_PID
ss_bg recommender "$B/streamscore-recommender" -c "$C" "${KX[@]}" --group.id prom-reco \
    --redis.prefix prom:reco: --session.timeout.ms 6000 --snapshot.interval.ms 1000 \
    --metrics.port "${PORT[recommender]}"
PID[recommender]=$SS_LAST_PID
ss_bg drift "$B/streamscore-drift" -c "$C" "${KX[@]}" --group.id prom-drift \
    --session.timeout.ms 6000 --metrics.port "${PORT[drift]}"
PID[drift]=$SS_LAST_PID
ss_bg forecaster "$B/streamscore-forecaster" -c "$C" "${KX[@]}" --poll.interval.ms 500 \
    --metrics.port "${PORT[forecaster]}"
PID[forecaster]=$SS_LAST_PID

metrics_of() { curl -sfS "http://127.0.0.1:${PORT[$1]}/metrics"; }

for s in $SERVICES; do
    ss_wait_for 30 curl -sf "http://127.0.0.1:${PORT[$s]}/livez" ||
        ss_fail "$s /livez never answered"
done
ss_wait_for 60 sh -c "curl -s http://127.0.0.1:${PORT[features]}/metrics |
    awk '\$1 == \"streamscore_features_orders_applied_total\" && \$2 > 0 {ok=1} END {exit !ok}'" ||
    ss_fail "features applied no order"

# Lag is known once the group committed; each consumer must show a series with lag >= 0.
lag_known() {
    metrics_of "$1" |
        grep -Eq '^streamscore_consumer_lag_messages\{topic="[^"]+",partition="[0-9]+"\} [0-9]+$'
}
for s in features scorer recommender drift; do
    ss_wait_for 60 lag_known "$s" ||
        ss_fail "$s: no consumer lag series: $(metrics_of "$s" | grep consumer_)"
done

ss_log "promtool check metrics on every service"
for s in $SERVICES; do
    metrics_of "$s" >"$D/$s.prom" || ss_fail "$s: GET /metrics failed"
    # promtool prints lint warnings on stderr and still exits 0 for some of them: both count.
    if ! promtool check metrics <"$D/$s.prom" >"$D/$s.promtool" 2>&1; then
        cat "$D/$s.promtool" >&2
        ss_fail "$s: promtool check metrics failed"
    fi
    [ ! -s "$D/$s.promtool" ] || ss_fail "$s: promtool warnings: $(cat "$D/$s.promtool")"
    for want in '# TYPE streamscore_build_info gauge' "streamscore_build_info{service=\"$s\"" \
        '# TYPE process_cpu_seconds_total counter' \
        '# TYPE streamscore_producer_delivered_total counter' \
        '# TYPE streamscore_producer_in_flight_messages gauge'; do
        grep -qF -- "$want" "$D/$s.prom" || ss_fail "$s: /metrics lacks '$want'"
    done
done
for s in features scorer recommender drift; do
    for want in '# TYPE streamscore_consumer_lag_messages gauge' \
        '# TYPE streamscore_consumer_assigned_partitions gauge' \
        '# TYPE streamscore_consumer_rebalances_total counter' \
        '# TYPE streamscore_consumer_paused gauge' \
        'streamscore_kafka_broker_rtt_seconds{broker="'; do
        grep -qF -- "$want" "$D/$s.prom" || ss_fail "$s: /metrics lacks '$want'"
    done
    assigned=$(awk '$1 == "streamscore_consumer_assigned_partitions" {print $2}' "$D/$s.prom")
    [ "${assigned:-0}" -gt 0 ] || ss_fail "$s: assigned partitions '$assigned'"
done

ss_log "a real Prometheus scrapes all five"
PROM_PORT=$(free_port)
# One job; each target carries its service name in the label `svc` (not `service`: that is a
# label of streamscore_build_info and would be renamed exported_service).
{
    printf 'global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n'
    printf '  - job_name: streamscore\n    static_configs:\n'
    for s in $SERVICES; do
        printf '      - targets: ["127.0.0.1:%s"]\n        labels: {svc: %s}\n' "${PORT[$s]}" "$s"
    done
} >"$D/prometheus.yml"
promtool check config "$D/prometheus.yml" >"$D/promtool-config.out" 2>&1 ||
    ss_fail "promtool rejected the config: $(cat "$D/promtool-config.out")"
mkdir "$D/tsdb"
ss_bg prometheus prometheus --config.file="$D/prometheus.yml" --storage.tsdb.path="$D/tsdb" \
    --web.listen-address="127.0.0.1:$PROM_PORT"
PROM_PID=$SS_LAST_PID

# prom_query QUERY CHECK: true when Prometheus answers QUERY and the python expression CHECK
# holds for `res` (the result vector; `svcs` is the set of its svc labels). The answer is kept
# in $D/q.json.
prom_query() {
    curl -sS -G "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1" \
        >"$D/q.json" 2>/dev/null || return 1
    $PY - "$D/q.json" "$2" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
res = r.get("data", {}).get("result", [])
svcs = {x["metric"].get("svc") for x in res}
sys.exit(0 if r.get("status") == "success" and eval("(" + sys.argv[2] + ")") else 1)
EOF
}
ss_wait_for 30 prom_query up "len(res) == 5 and all(x['value'][1] == '1' for x in res) and
    svcs == {'features', 'scorer', 'recommender', 'drift', 'forecaster'}" ||
    ss_fail "prometheus: not every target up: $(cat "$D/q.json")"
ss_wait_for 30 prom_query 'streamscore_consumer_lag_messages{svc="features",topic="transactions"}' \
    'len(res) >= 1 and all(float(x["value"][1]) >= 0 for x in res)' ||
    ss_fail "prometheus has no consumer lag of features: $(cat "$D/q.json")"
ss_wait_for 30 prom_query 'count by (svc) (streamscore_consumer_lag_messages)' \
    "svcs == {'features', 'scorer', 'recommender', 'drift'}" ||
    ss_fail "prometheus lag by service: $(cat "$D/q.json")"
ss_wait_for 30 prom_query 'streamscore_features_orders_applied_total' \
    'svcs == {"features"} and float(res[0]["value"][1]) > 0' ||
    ss_fail "prometheus has no features orders counter: $(cat "$D/q.json")"
ss_log "prometheus: 5 targets up, lag and orders queried"
kill -TERM "$PROM_PID"
wait "$PROM_PID" || true

ss_log "graceful shutdown: SIGTERM -> exit 0 within 10 s"
for s in $SERVICES; do
    kill -TERM "${PID[$s]}"
done
deadline=$((SECONDS + 10 * SS_TIMEOUT_MULT))
for s in $SERVICES; do
    pid=${PID[$s]}
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && ss_fail "$s still running 10 s after SIGTERM"
    rc=0
    wait "$pid" || rc=$?
    [ "$rc" = 0 ] || ss_fail "$s exited with $rc after SIGTERM"
done
grep -q "consumer closed" "$D/features.log" || ss_fail "features did not close its consumer"
ss_log "PASS"
