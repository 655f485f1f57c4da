#!/usr/bin/python3
"""Writes grafana/dashboards/streamscore.json (the provisioned dashboard) from the panel list
below: edit here, run `/usr/bin/python3 deploy/grafana/make_dashboard.py`, commit both.
Every metric named here is checked against the sources by tests/integration/test_compose.sh."""
import json
import os

DS = {"type": "prometheus", "uid": "prometheus"}


def ts(pid, title, x, y, targets, unit="short", stack=False, thresholds=None, desc=""):
    p = {
        "id": pid, "type": "timeseries", "title": title, "description": desc, "datasource": DS,
        "gridPos": {"x": x, "y": y, "w": 12, "h": 8},
        "fieldConfig": {"defaults": {"unit": unit, "custom": {
            "fillOpacity": 20 if stack else 5,
            "stacking": {"mode": "normal" if stack else "none"}}}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"},
                    "tooltip": {"mode": "multi"}},
        "targets": [{"refId": chr(65 + i), "expr": e, "legendFormat": l, "datasource": DS}
                    for i, (e, l) in enumerate(targets)],
    }
    if thresholds:
        p["fieldConfig"]["defaults"]["thresholds"] = {"mode": "absolute", "steps": [
            {"color": "green", "value": None}] + [{"color": c, "value": v} for v, c in thresholds]}
        p["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"] = {"mode": "line"}
    return p


PANELS = [
    ts(1, "Throughput (events/s)", 0, 0,
       [("sum by (job) (rate(streamscore_events_processed_total[1m]))", "{{job}}")], "ops",
       desc="Events consumed and fully handled per second, per service."),
    ts(2, "Consumer lag (messages)", 12, 0,
       [("sum by (job, topic) (streamscore_consumer_lag_messages >= 0)", "{{job}} {{topic}}")],
       desc="librdkafka consumer_lag summed over assigned partitions (-1 = unknown excluded)."),
    ts(3, "Processing latency p50 / p99", 0, 8,
       [("histogram_quantile(0.5, sum by (job, le) (rate(streamscore_processing_seconds_bucket[5m])))", "p50 {{job}}"),
        ("histogram_quantile(0.99, sum by (job, le) (rate(streamscore_processing_seconds_bucket[5m])))", "p99 {{job}}"),
        ("histogram_quantile(0.99, sum by (le) (rate(streamscore_churn_batch_seconds_bucket[5m])))", "p99 scorer batch"),
        ("histogram_quantile(0.99, sum by (le) (rate(streamscore_forecast_fit_seconds_bucket[15m])))", "p99 forecast fit")],
       "s"),
    ts(4, "Churn risk mix (customers)", 12, 8,
       [("sum by (risk_level) (streamscore_churn_customers_by_risk)", "{{risk_level}}")],
       stack=True, desc="Customers per current risk level in the scorer's state."),
    ts(5, "Churn scores emitted (per s)", 0, 16,
       [("sum by (risk_level, reason) (rate(streamscore_churn_scores_total[5m]))",
         "{{risk_level}} {{reason}}")], "ops", stack=True),
    ts(6, "Forecast fallbacks and errors (per hour)", 12, 16,
       [('sum by (model, reason) (increase(streamscore_forecast_fits_total{reason!="none"}[1h]))',
         "{{model}} fallback: {{reason}}"),
        ("increase(streamscore_forecast_delivery_failures_total[1h])", "delivery failures"),
        ("increase(streamscore_forecast_bad_fields_total[1h])", "bad demand fields")],
       desc="Products forecast with the fallback instead of SARIMA, by reason, and failures."),
    ts(7, "Drift PSI per series", 0, 24,
       [("max by (series) (streamscore_drift_psi)", "{{series}}")],
       thresholds=[(0.1, "orange"), (0.25, "red")],
       desc="PSI of the last closed window against the reference; 0.1 warning, 0.25 critical."),
    ts(8, "Dead letters (per s)", 12, 24,
       [("sum by (job, reason) (rate(streamscore_dlq_messages_total[5m]))", "{{job}} {{reason}}")],
       "ops"),
    ts(9, "Redis errors and reconnects (per min)", 0, 32,
       [("sum by (job) (rate(streamscore_redis_errors_total[5m])) * 60", "errors {{job}}"),
        ("sum by (job) (rate(streamscore_redis_reconnects_total[5m])) * 60", "reconnects {{job}}")]),
    ts(10, "Services up", 12, 32,
       [('up{job=~"features|scorer|recommender|forecaster|drift"}', "{{job}}")]),
]

DASH = {
    "uid": "streamscore", "title": "streamscore", "tags": ["streamscore"], "timezone": "utc",
    "schemaVersion": 39, "version": 1, "editable": True, "refresh": "15s",
    "time": {"from": "now-1h", "to": "now"}, "panels": PANELS,
    "templating": {"list": []}, "annotations": {"list": []},
}

if __name__ == "__main__":
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dashboards", "streamscore.json")
    with open(out, "w") as f:
        f.write(json.dumps(DASH, indent=2) + "\n")
