#!/usr/bin/env bash
# integration.compose: docker-compose.yml is kept correct without a Docker engine.
# compose_check.py parses it and checks every streamscore container against the real executables
# in $SS_BIN (commands, --keys, SS_<SERVICE>_<KEY> variables, values via --dump-config, metrics
# ports vs ports/healthchecks/Prometheus targets, metric names in the dashboard and alert rules,
# runtime libraries vs the Dockerfile); promtool/amtool validate the Prometheus and Alertmanager
# files. Then mutated copies of the compose file must each be rejected with the right message, so
# the checker is known to catch what it claims to.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
SRC=$SS_SOURCE_DIR
CHECK=$SRC/tests/integration/compose_check.py
"$PY" -c 'import yaml' 2>/dev/null || ss_fail "PyYAML missing for $PY (apt-get install -y python3-yaml)"
command -v promtool >/dev/null || ss_fail "promtool not found (apt-get install -y prometheus)"

ss_log "the real compose file"
"$PY" "$CHECK" --source "$SRC" --bin "$SS_BIN" || ss_fail "docker-compose.yml does not match the executables"

ss_log "Prometheus config and rules (promtool), Alertmanager config (amtool if present)"
promtool check config "$SRC/deploy/prometheus/prometheus.yml" >"$SS_TEST_DIR/promtool.log" 2>&1 ||
    ss_fail "promtool: $(cat "$SS_TEST_DIR/promtool.log")"
if command -v amtool >/dev/null; then
    amtool check-config "$SRC/deploy/alertmanager/alertmanager.yml" >"$SS_TEST_DIR/amtool.log" 2>&1 ||
        ss_fail "amtool: $(cat "$SS_TEST_DIR/amtool.log")"
else
    ss_log "amtool not installed: alertmanager.yml only parsed as YAML"
    "$PY" -c 'import sys,yaml; yaml.safe_load(open(sys.argv[1]))' "$SRC/deploy/alertmanager/alertmanager.yml"
fi
"$PY" - "$SRC/deploy/grafana/dashboards/streamscore.json" "$SRC/deploy/grafana/make_dashboard.py" <<'PYEOF' ||
import json, runpy, sys
on_disk = json.load(open(sys.argv[1]))
gen = runpy.run_path(sys.argv[2])["DASH"]
sys.exit(0 if on_disk == json.loads(json.dumps(gen)) else 1)
PYEOF
    ss_fail "deploy/grafana/dashboards/streamscore.json is stale: run deploy/grafana/make_dashboard.py"

# mutant NAME SED-EXPR EXPECTED: a copy of the compose file edited by SED-EXPR must fail the
# check with EXPECTED in its output (and the edit must have changed something).
mutant() {
    local name=$1 expr=$2 want=$3 f=$SS_TEST_DIR/compose-$1.yml
    sed -e "$expr" "$SRC/docker-compose.yml" >"$f"
    cmp -s "$f" "$SRC/docker-compose.yml" && ss_fail "mutant $name: the edit '$expr' changed nothing"
    if "$PY" "$CHECK" --no-libs --source "$SRC" --bin "$SS_BIN" --compose "$f" >"$SS_TEST_DIR/$name.out" 2>&1; then
        ss_fail "mutant $name was accepted"
    fi
    grep -qF -- "$want" "$SS_TEST_DIR/$name.out" ||
        ss_fail "mutant $name: expected '$want' in: $(cat "$SS_TEST_DIR/$name.out")"
}
ss_log "mutants are rejected"
mutant unknown-option 's/"--model.check.interval.ms"/"--model.check.every.ms"/' \
    "scorer: 'streamscore-scorer --model.check.every.ms': 'model.check.every.ms' is not a key"
mutant env-typo 's/SS_RECOMMENDER_REDIS_PORT:/SS_RECOMMENDER_REDIS_PROT:/' \
    "recommender: environment SS_RECOMMENDER_REDIS_PROT matches no key"
mutant bad-value 's/"--mode", "fast"/"--mode", "fastest"/' \
    "forecaster: streamscore-forecaster rejects its configuration"
mutant out-of-range 's/SS_SCORER_METRICS_PORT: "9102"/SS_SCORER_METRICS_PORT: "70000"/' \
    "scorer: streamscore-scorer rejects its configuration"
mutant port-moved 's/SS_DRIFT_METRICS_PORT: "9105"/SS_DRIFT_METRICS_PORT: "9106"/' \
    "drift: metrics.port 9106 is not in ports/expose"
mutant loopback 's/SS_RECOMMENDER_METRICS_BIND: 0.0.0.0/SS_RECOMMENDER_METRICS_BIND: 127.0.0.1/' \
    "recommender: metrics.bind is 127.0.0.1"
mutant no-metrics '/SS_FORECASTER_METRICS_PORT/d' \
    "forecaster: long-running but metrics.port is 0"
mutant missing-exe 's/"streamscore-recommender"/"streamscore-recommend"/' \
    "recommender: executable 'streamscore-recommend' is not built"
mutant shell-option 's/--customers 3000 --days 540/--customers 3000 --dayz 540/' \
    "model-init: 'streamscore-gen --dayz': 'dayz' is not a key"
mutant bad-volume 's|models:/models:ro|modelz:/models:ro|' \
    "named volume 'modelz' is not declared"
mutant brokers 's/SS_SCORER_BROKERS: kafka:9092/SS_SCORER_BROKERS: kafka:9093/' \
    "scorer: brokers 'kafka:9093' is not an advertised Kafka listener"
mutant cluster-id 's/CLUSTER_ID: c3RyZWFtc2NvcmUta3JmdA/CLUSTER_ID: streamscore/' \
    "kafka: CLUSTER_ID 'streamscore' is not a base64url Kafka Uuid"
mutant listener 's/,EXTERNAL:PLAINTEXT$//' \
    "kafka: listener EXTERNAL is missing from KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"
ss_log "PASS"
