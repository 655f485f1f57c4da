#!/usr/bin/env bash
# integration.http: the ss_http listener over a real loopback socket, through
# streamscore-metricsdemo. Checks /metrics (status, Content-Type, exposition validated by
# `promtool check metrics`, histogram invariants), /livez, /healthz, /readyz transitions, an extra
# route, 404/405, then lets a real Prometheus scrape the demo and asks its API whether
# up{job="metricsdemo"} is 1, and finally a clean SIGTERM exit. promtool and prometheus come from
# the Debian package `prometheus` (scripts/setup); their absence is a failure, not a skip.
set -euo pipefail

BIN=${SS_BIN:?SS_BIN must point at build/bin}
MULT=${SS_TIMEOUT_MULT:-1}
PY=/usr/bin/python3

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

for tool in curl promtool prometheus; do
    command -v "$tool" >/dev/null || fail "'$tool' not found (apt-get install -y prometheus curl)"
done
[ -x "$BIN/streamscore-metricsdemo" ] || fail "'$BIN/streamscore-metricsdemo' not built"

TMP=$(mktemp -d)
DEMO_PID=
PROM_PID=
cleanup() {
    for pid in $PROM_PID $DEMO_PID; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT

# wait_until SECONDS CMD...: polls CMD every 0.1 s until it succeeds; fails after SECONDS*MULT.
wait_until() {
    local limit=$(($1 * MULT * 10)) i=0
    shift
    until "$@"; do
        i=$((i + 1))
        [ "$i" -lt "$limit" ] || return 1
        sleep 0.1
    done
}

# get PATH: sets STATUS, CTYPE and BODY from GET http://127.0.0.1:$PORT$PATH.
get() {
    local out
    out=$(curl -sS -o "$TMP/body" -w '%{http_code} %{content_type}' "http://127.0.0.1:$PORT$1")
    STATUS=${out%% *}
    CTYPE=${out#* }
    BODY=$(cat "$TMP/body")
}

expect() { # PATH STATUS BODY
    get "$1"
    [ "$STATUS" = "$2" ] || fail "GET $1: status $STATUS, want $2 (body: $BODY)"
    [ "$BODY" = "$3" ] || fail "GET $1: body '$BODY', want '$3'"
}

status_is() { # PATH STATUS
    get "$1"
    [ "$STATUS" = "$2" ]
}

# ---- start the demo on an ephemeral loopback port ----
"$BIN/streamscore-metricsdemo" --metrics.port=0 --metrics.bind=127.0.0.1 \
    --live.timeout.s=$((2 * MULT)) --port.file="$TMP/port" >"$TMP/demo.out" 2>"$TMP/demo.err" &
DEMO_PID=$!
wait_until 10 test -s "$TMP/port" || fail "demo did not write its port (stderr: $(cat "$TMP/demo.err"))"
PORT=$(cat "$TMP/port")
echo "demo pid $DEMO_PID on 127.0.0.1:$PORT"

# ---- /metrics ----
get /metrics
[ "$STATUS" = 200 ] || fail "GET /metrics: status $STATUS"
[ "$CTYPE" = "text/plain; version=0.0.4; charset=utf-8" ] || fail "GET /metrics: content type '$CTYPE'"
cp "$TMP/body" "$TMP/metrics.txt"
promtool check metrics <"$TMP/metrics.txt" || fail "promtool rejected the exposition (see above)"
for want in \
    '# TYPE streamscore_build_info gauge' \
    'streamscore_build_info{service="metricsdemo",version="' \
    '# TYPE process_cpu_seconds_total counter' \
    '# TYPE process_resident_memory_bytes gauge' \
    '# TYPE process_start_time_seconds gauge' \
    '# TYPE streamscore_demo_tick_processing_seconds histogram' \
    'streamscore_demo_tick_processing_seconds_bucket{le="5e-05"} ' \
    'streamscore_demo_tick_processing_seconds_bucket{le="+Inf"} ' \
    'streamscore_dlq_messages_total{reason="validation \"quoted\"\\path"} 0' \
    'streamscore_consumer_lag_messages{topic="transactions",partition="1"} '; do
    grep -qF -- "$want" "$TMP/metrics.txt" || fail "/metrics lacks '$want'"
done
# histogram invariants: buckets never decrease and _count equals the +Inf bucket
$PY - "$TMP/metrics.txt" <<'EOF' || fail "histogram invariants do not hold"
import sys
name = "streamscore_demo_tick_processing_seconds"
buckets, count = [], None
for line in open(sys.argv[1]):
    if line.startswith(name + "_bucket{"):
        buckets.append(float(line.rsplit(" ", 1)[1]))
    elif line.startswith(name + "_count "):
        count = float(line.rsplit(" ", 1)[1])
assert len(buckets) == 18, buckets
assert all(a <= b for a, b in zip(buckets, buckets[1:])), buckets
assert count == buckets[-1] and count > 0, (count, buckets)
EOF

# ---- health endpoints ----
expect /livez 200 ok
expect /healthz 200 ok
expect /readyz 503 "not ready: warming up"
kill -USR1 "$DEMO_PID"
wait_until 5 status_is /readyz 200 || fail "/readyz did not turn ready after SIGUSR1"
expect /readyz 200 ready

# ---- extra route, unknown path, wrong method ----
expect "/v1/echo?msg=hello%20world" 200 '{"echo":"hello world"}'
expect /v1/echo 400 "missing or bad 'msg' parameter"
expect /nope 404 "no such endpoint '/nope'"
code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST --data x "http://127.0.0.1:$PORT/metrics")
[ "$code" = 405 ] || fail "POST /metrics: status $code, want 405"

# ---- the listener counts what it served (bounded handler label: 404 and 405 are "other") ----
get /metrics
promtool check metrics <"$TMP/body" || fail "promtool rejected the second exposition"
for want in \
    'streamscore_http_requests_total{handler="/livez",code="200"} 1' \
    'streamscore_http_requests_total{handler="/healthz",code="200"} 1' \
    'streamscore_http_requests_total{handler="/metrics",code="200"} 1' \
    'streamscore_http_requests_total{handler="/v1/echo",code="400"} 1' \
    'streamscore_http_requests_total{handler="other",code="404"} 1' \
    'streamscore_http_requests_total{handler="other",code="405"} 1' \
    'streamscore_http_request_duration_seconds_count{handler="/metrics"} 1'; do
    grep -qF -- "$want" "$TMP/body" || fail "/metrics lacks '$want'"
done

# ---- a real Prometheus scrapes the demo ----
start_prometheus() {
    PROM_PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    cat >"$TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: metricsdemo
    static_configs:
      - targets: ['127.0.0.1:$PORT']
EOF
    promtool check config "$TMP/prometheus.yml" >/dev/null || fail "promtool rejected the config"
    prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/tsdb" \
        --web.listen-address="127.0.0.1:$PROM_PORT" >"$TMP/prom.log" 2>&1 &
    PROM_PID=$!
}

prom_up() { # true once Prometheus answers and says up{job="metricsdemo"} == 1
    curl -sS -G "http://127.0.0.1:$PROM_PORT/api/v1/query" \
        --data-urlencode 'query=up{job="metricsdemo"}' >"$TMP/up.json" 2>/dev/null || return 1
    $PY - "$TMP/up.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
res = r["data"]["result"]
sys.exit(0 if r["status"] == "success" and len(res) == 1 and res[0]["value"][1] == "1" else 1)
EOF
}

start_prometheus
if ! wait_until 30 prom_up; then
    cat "$TMP/prom.log" >&2
    fail "prometheus did not report up{job=\"metricsdemo\"} == 1"
fi
curl -sS -G "http://127.0.0.1:$PROM_PORT/api/v1/query" \
    --data-urlencode 'query=streamscore_build_info{service="metricsdemo"}' >"$TMP/bi.json"
$PY - "$TMP/bi.json" <<'EOF' || fail "prometheus has no streamscore_build_info series"
import json, sys
res = json.load(open(sys.argv[1]))["data"]["result"]
assert len(res) == 1 and res[0]["value"][1] == "1", res
EOF
echo "prometheus on 127.0.0.1:$PROM_PORT scraped the demo: up == 1"
kill "$PROM_PID"
wait "$PROM_PID" || true
PROM_PID=

# ---- a stalled main loop fails liveness (and readiness) ----
kill -USR2 "$DEMO_PID"
wait_until 10 status_is /livez 503 || fail "/livez still $STATUS after the heartbeat stopped"
case "$BODY" in "main loop stalled: no heartbeat for "*) ;; *) fail "/livez body '$BODY'" ;; esac
status_is /healthz 503 || fail "/healthz: status $STATUS, want 503"
status_is /readyz 503 || fail "/readyz: status $STATUS, want 503"
case "$BODY" in "not ready: main loop stalled for "*) ;; *) fail "/readyz body '$BODY'" ;; esac

# ---- clean shutdown on SIGTERM ----
kill -TERM "$DEMO_PID"
rc=0
wait "$DEMO_PID" || rc=$?
DEMO_PID=
[ "$rc" = 0 ] || fail "demo exited with $rc after SIGTERM (stderr: $(cat "$TMP/demo.err"))"
echo "PASS"
