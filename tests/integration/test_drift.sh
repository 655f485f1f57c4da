#!/usr/bin/env bash
# streamscore-drift end to end on the local stack, driven by streamscore-drifttool (generator
# transactions -> CustomerFeatures with the feature service's rfm code; the feature and scorer
# services are not involved). Two monitors run side by side, each on its own topics:
#  - shift: stores s001-s005 sell at prices x 3 on days 40..49. The stream is fed in two phases.
#    After phase A (days 0..44) drift-alerts holds a FIRING FeatureDrift{feature=order_amount}
#    that started with window 40 (the first shifted day), and a locally started Alertmanager
#    lists it through GET /api/v2/alerts. After phase B (days 45..74) the same fingerprint is
#    RESOLVED by the end of window 51 (two clear windows after the shift), nothing else fired,
#    and Alertmanager no longer lists it as active.
#  - no shift: the same data without the shift; over more than 60 judged windows nothing fires.
. "$(dirname "$0")/lib.sh"

DRIFT="$SS_BIN/streamscore-drift"
TOOL="$SS_BIN/streamscore-drifttool"
TAIL="$SS_BIN/streamscore-tail"
AM=$(command -v prometheus-alertmanager || true)
[ -n "$AM" ] || ss_fail "prometheus-alertmanager not installed (apt-get install prometheus-alertmanager)"
for b in "$DRIFT" "$TOOL" "$TAIL"; do [ -x "$b" ] || ss_fail "missing $b (build first)"; done

DAY=86400000
T0=1704067200000 # 2024-01-01, the generator's first day
GEN=(--customers 3000 --days 75 --seed 7)
SHIFT=(--shift-day 40 --shift-end 50 --shift-stores 5 --shift-factor 3)

CF_S=$(ss_topic cf-shift) AL_S=$(ss_topic al-shift) CF_N=$(ss_topic cf-none) AL_N=$(ss_topic al-none)
SC=$(ss_topic scores) DLQ=$(ss_topic dlq)
ss_start_stack --no-redis --partitions "$CF_S=6,$AL_S=3,$CF_N=6,$AL_N=3,$SC=3,$DLQ=3"
C=$SS_STACK_CONF

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# A private Alertmanager on loopback (no clustering), data in the test dir.
AM_PORT=$(free_port)
mkdir -p "$SS_TEST_DIR/am"
cat >"$SS_TEST_DIR/am.yml" <<'EOF'
route:
  receiver: blackhole
receivers:
  - name: blackhole
EOF
ss_bg alertmanager "$AM" --config.file="$SS_TEST_DIR/am.yml" --storage.path="$SS_TEST_DIR/am" \
    --web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address=
ss_wait_for 30 curl -sf "http://127.0.0.1:$AM_PORT/-/ready" || ss_fail "alertmanager did not start"
ss_log "alertmanager up on port $AM_PORT"

# Common monitor settings (run_drift below): only the per-order amount (the cumulative features drift by
# construction on a generated stream that starts from empty histories); a reference from the
# first 7 daily windows; 3 days of allowed lateness so that partitions resuming after an idle
# pause are not dropped.
# run_drift name features-topic alerts-topic [extra options]: starts a monitor in the
# background (recorded for the EXIT trap: no command substitution here, it would run ss_bg in a
# subshell) and sets DRIFT_PORT to its metrics port.
run_drift() {
    local name=$1 cf=$2 al=$3
    shift 3
    DRIFT_PORT=$(free_port)
    ss_bg "$name" "$DRIFT" -c "$C" --group.id "g-$name-$$" --session.timeout.ms 6000 \
        --topic.features "$cf" --topic.scores "$SC" --topic.dlq "$DLQ" --topic.alerts "$al" \
        --series order_amount --reference.windows 7 --window.lateness.ms $((3 * DAY)) \
        --watermark.idle.ms 1500 --metrics.port "$DRIFT_PORT" "$@"
}
closed() { curl -sf "http://127.0.0.1:$1/metrics" | awk '/^streamscore_drift_windows_closed_total /{print $2}'; }
closed_at_least() { local n; n=$(closed "$1"); [ "${n:-0}" -ge "$2" ]; }
alerts() { "$TAIL" -c "$C" --timeout $((4 * SS_TIMEOUT_MULT)) "$1" 2>>"$SS_TEST_DIR/tail.log"; }

run_drift drift-shift "$CF_S" "$AL_S" --alertmanager.url "http://127.0.0.1:$AM_PORT" \
    --alertmanager.resend.ms 1000
P_S=$DRIFT_PORT
run_drift drift-none "$CF_N" "$AL_N"
P_N=$DRIFT_PORT
ss_wait_for 30 curl -sf "http://127.0.0.1:$P_S/readyz" || ss_fail "drift-shift not ready"
ss_wait_for 30 curl -sf "http://127.0.0.1:$P_N/readyz" || ss_fail "drift-none not ready"

# ---- Phase A: days 0..44 with the shift from day 40.
"$TOOL" -c "$C" --topic.features "$CF_S" --topic.dlq "$DLQ" "${GEN[@]}" "${SHIFT[@]}" --to-day 45 \
    >"$SS_TEST_DIR/tool-a.out" 2>"$SS_TEST_DIR/tool-a.log" || ss_fail "drifttool phase A failed"
"$TOOL" -c "$C" --topic.features "$CF_N" --topic.dlq "$DLQ" "${GEN[@]}" \
    >"$SS_TEST_DIR/tool-n.out" 2>"$SS_TEST_DIR/tool-n.log" || ss_fail "drifttool (no shift) failed"
ss_log "phase A: $(cat "$SS_TEST_DIR/tool-a.out"); no shift: $(cat "$SS_TEST_DIR/tool-n.out")"
# Last event on day 44, watermark 3 days behind: windows 0..40 close.
ss_wait_for 60 closed_at_least "$P_S" 41 || ss_fail "drift-shift closed $(closed "$P_S") windows, expected 41"

alerts "$AL_S" >"$SS_TEST_DIR/a.jsonl"
jq -e --argjson s $((T0 + 40 * DAY)) 'select(.value.name == "FeatureDrift" and .value.status == "FIRING"
    and .value.labels.feature == "order_amount" and .value.starts_at == $s
    and .key == .value.fingerprint and (.value.severity == "warning" or .value.severity == "critical")
    and .value.value >= 0.1)' "$SS_TEST_DIR/a.jsonl" >/dev/null ||
    ss_fail "no FIRING FeatureDrift{order_amount} starting with window 40: $(head -c 600 "$SS_TEST_DIR/a.jsonl")"
FP=$(jq -r 'select(.value.status == "FIRING") | .value.fingerprint' "$SS_TEST_DIR/a.jsonl" | head -1)
[ "$(jq -r .value.fingerprint "$SS_TEST_DIR/a.jsonl" | sort -u)" = "$FP" ] ||
    ss_fail "other alerts fired before the shift ended: $(jq -c '.value.labels' "$SS_TEST_DIR/a.jsonl" | sort -u)"
ss_log "fired: fingerprint $FP, $(wc -l <"$SS_TEST_DIR/a.jsonl") messages"

# Alertmanager lists it (labels + severity; annotations carry our fingerprint).
am_has() {
    curl -sf "http://127.0.0.1:$AM_PORT/api/v2/alerts" | jq -e --arg fp "$FP" \
        '[.[] | select(.labels.alertname == "FeatureDrift" and .labels.feature == "order_amount"
          and .labels.service == "drift" and .annotations.fingerprint == $fp)] | length > 0'
}
ss_wait_for 20 am_has || ss_fail "alert not visible in alertmanager: $(curl -s "http://127.0.0.1:$AM_PORT/api/v2/alerts")"
ss_log "alertmanager lists the alert"

# ---- Phase B: days 45..74 (the shift ended on day 50).
"$TOOL" -c "$C" --topic.features "$CF_S" --topic.dlq "$DLQ" "${GEN[@]}" "${SHIFT[@]}" --from-day 45 \
    >"$SS_TEST_DIR/tool-b.out" 2>"$SS_TEST_DIR/tool-b.log" || ss_fail "drifttool phase B failed"
# Last event on day 74: windows 0..70 close.
ss_wait_for 60 closed_at_least "$P_S" 71 || ss_fail "drift-shift closed $(closed "$P_S") windows, expected 71"
alerts "$AL_S" >"$SS_TEST_DIR/b.jsonl"
jq -e --arg fp "$FP" --argjson e $((T0 + 52 * DAY)) 'select(.value.status == "RESOLVED"
    and .value.fingerprint == $fp and .value.ends_at <= $e)' "$SS_TEST_DIR/b.jsonl" >/dev/null ||
    ss_fail "FeatureDrift{order_amount} not resolved by day 52: $(jq -c '[.value.status, .value.ends_at]' "$SS_TEST_DIR/b.jsonl" | tail -5)"
[ "$(jq -r .value.fingerprint "$SS_TEST_DIR/b.jsonl" | sort -u)" = "$FP" ] ||
    ss_fail "unexpected alerts: $(jq -c '.value.labels' "$SS_TEST_DIR/b.jsonl" | sort -u)"
# Fired once, resolved once: one NEW and one RESOLVED transition (repeats in between).
[ "$(jq -r 'select(.value.status == "RESOLVED") | .offset' "$SS_TEST_DIR/b.jsonl" | wc -l)" -eq 1 ] ||
    ss_fail "resolved more than once (flapping): $(jq -c '[.value.status, .value.value]' "$SS_TEST_DIR/b.jsonl" | tr '\n' ' ')"
last=$(jq -r '.value.status' "$SS_TEST_DIR/b.jsonl" | tail -1)
[ "$last" = RESOLVED ] || ss_fail "the last alert message is $last, not RESOLVED"
am_gone() { ! am_has; }
ss_wait_for 20 am_gone || ss_fail "alertmanager still lists the resolved alert as active"
ss_log "resolved; alertmanager no longer lists it"

# ---- No shift: more than 60 judged windows, no alert at all.
ss_wait_for 60 closed_at_least "$P_N" 71 || ss_fail "drift-none closed $(closed "$P_N") windows, expected 71"
alerts "$AL_N" >"$SS_TEST_DIR/n.jsonl"
[ ! -s "$SS_TEST_DIR/n.jsonl" ] || ss_fail "alerts without a shift: $(head -c 600 "$SS_TEST_DIR/n.jsonl")"
curl -sf "http://127.0.0.1:$P_N/metrics" >"$SS_TEST_DIR/none.metrics"
grep -q '^streamscore_drift_alerts_produced_total 0$' "$SS_TEST_DIR/none.metrics" ||
    ss_fail "drift-none produced alerts: $(grep alerts_produced "$SS_TEST_DIR/none.metrics")"
grep -q '^streamscore_drift_events_dropped_total 0$' "$SS_TEST_DIR/none.metrics" ||
    ss_fail "drift-none dropped events: $(grep dropped "$SS_TEST_DIR/none.metrics")"
grep -q '^streamscore_drift_psi{series="order_amount"} ' "$SS_TEST_DIR/none.metrics" ||
    ss_fail "no PSI gauge on /metrics"
judged=$(awk '/^streamscore_drift_windows_judged_total\{series="order_amount"\} /{print $2}' "$SS_TEST_DIR/none.metrics")
[ "${judged:-0}" -ge 60 ] || ss_fail "only ${judged:-0} windows judged without a shift, expected >= 60"
ss_log "no shift: $judged windows judged, no alert"
echo "PASS"
