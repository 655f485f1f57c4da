#!/usr/bin/env bash
# streamscore-forecaster on the local stack (mock Kafka + redis):
#  1. two years of store-item demand (stores 1-2, items 1-3) plus a constant product are applied
#     to the feature store through streamscore-fstoretool, with one order on the next day per
#     store so that 2017-12-31 closes (allowed lateness 1 h);
#  2. the forecaster (match mode) produces exactly one DemandForecast per (store, product) for
#     2017-12-31, 30 horizon days from 2018-01-01; store 1 item 1 equals statsmodels (clip, 80 %
#     train fit, whole-series filter, 30-day forecast and 95 % bounds) within 1e-4 x level; the
#     constant product is the ma7 fallback with its reason; metrics and fc:done say so;
#  3. a restart re-emits nothing; redis-server restarts under the service; then orders up to
#     2018-01-04 close three more days at once and catchup=latest forecasts only 2018-01-03,
#     skipping two.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
FC="$SS_BIN/streamscore-forecaster"
TOOL="$SS_BIN/streamscore-fstoretool"
TAIL="$SS_BIN/streamscore-tail"
DATA="$SS_SHARED_DIR/data/store_item_sales.csv.gz"
for x in "$FC" "$TOOL" "$TAIL"; do [ -x "$x" ] || ss_fail "missing $x (build first)"; done
[ -f "$DATA" ] || ss_skip "$DATA absent"
D=$SS_TEST_DIR
T=$(ss_topic fc)
P="it$$:"
to=$((30 * SS_TIMEOUT_MULT))

ss_start_stack --partitions "$T=3"
C=$SS_STACK_CONF
MPORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# 1. Orders: one per (day, store) with a line per item; "K" sells 5 units every day (constant).
$PY - "$DATA" "$D" <<'EOF'
import json, sys
import pandas as pd
data, d = sys.argv[1], sys.argv[2]
df = pd.read_csv(data)
df = df[df.store.isin([1, 2]) & df.item.isin([1, 2, 3]) & (df.date >= "2016-01-01")]
df = df[df.sales > 0]
DAY = 86400000
def ms(day, hour=12):
    return int(pd.Timestamp(day, tz="UTC").value // 1000000) + hour * 3600000
with open(d + "/orders.jsonl", "w") as f:
    for (day, store), g in df.groupby(["date", "store"]):
        lines = [{"product_id": str(i), "quantity": int(q), "unit_price": 1.0}
                 for i, q in zip(g.item, g.sales)]
        if store == 1:
            lines.append({"product_id": "K", "quantity": 5, "unit_price": 1.0})
        f.write(json.dumps({"order_id": "o-%s-%d" % (day, store), "customer_id": None,
                            "store_id": str(store), "event_time": ms(day), "kind": "PURCHASE",
                            "lines": lines, "currency": "USD"}) + "\n")
def closer(path, day):
    with open(path, "w") as f:
        for store in (1, 2):
            f.write(json.dumps({"order_id": "c-%s-%d" % (day, store), "customer_id": None,
                                "store_id": str(store), "event_time": ms(day, 1) + 1,
                                "kind": "PURCHASE",
                                "lines": [{"product_id": "1", "quantity": 1, "unit_price": 1.0}],
                                "currency": "USD"}) + "\n")
closer(d + "/close1.jsonl", "2018-01-01")  # 01:00:00.001 closes 2017-12-31 (lateness 1 h)
closer(d + "/close2.jsonl", "2018-01-04")  # closes 2018-01-01 .. 2018-01-03 at once
# store 1 item 1 as the forecaster sees it, for statsmodels
s = df[(df.store == 1) & (df.item == 1)][["date", "sales"]]
s.rename(columns={"sales": "quantity_sold"}).to_csv(d + "/s1i1.csv", index=False)
EOF
tool() { "$TOOL" -c "$C" --redis.prefix "$P" --demand.allowed_lateness_ms 3600000 "$@"; }
tool apply <"$D/orders.jsonl" >"$D/apply.out" 2>"$D/apply.log"
tool apply <"$D/close1.jsonl" >>"$D/apply.out" 2>>"$D/apply.log"
[ "$(grep -c '"status":"applied"' "$D/apply.out")" = "$(($(wc -l <"$D/orders.jsonl") + 2))" ] ||
    ss_fail "not every order applied: $(sort "$D/apply.out" | uniq -c | head)"

# 2. The forecaster, match mode.
start_fc() {
    ss_bg "fc$1" "$FC" -c "$C" --redis.prefix "$P" --topic.forecasts "$T" --mode match \
        --poll.interval.ms 200 --metrics.port "$MPORT" --demand.allowed_lateness_ms 3600000
    FC_PID=$SS_LAST_PID
}
metric() { curl -sf "http://127.0.0.1:$MPORT/metrics"; }
tail_all() { "$TAIL" -c "$C" --count "$1" --timeout "$2" "$T" 2>>"$D/tail.log"; }
start_fc 1
ss_wait_for "$to" sh -c "grep -q 'forecast store=2 day=2017-12-31' '$D/fc1.log'" ||
    ss_fail "no forecast for store 2"
grep -q 'forecast store=1 day=2017-12-31 products=4 fallback=1' "$D/fc1.log" ||
    ss_fail "store 1: $(grep 'forecast store=1' "$D/fc1.log")"
tail_all 7 "$to" >"$D/fc1.jsonl"
[ "$(wc -l <"$D/fc1.jsonl")" = 7 ] || ss_fail "expected 7 forecasts, got $(wc -l <"$D/fc1.jsonl")"
ss_log "7 forecasts; comparing store 1 item 1 with statsmodels"

$PY - "$D/fc1.jsonl" "$D/s1i1.csv" <<'EOF' || ss_fail "forecasts differ from expectations"
import json, sys, warnings
import numpy as np, pandas as pd
from statsmodels.tsa.statespace.sarimax import SARIMAX
warnings.simplefilter("ignore")
recs = [json.loads(l) for l in open(sys.argv[1])]
by = {}
for r in recs:
    v = r["value"]
    assert r["key"] == v["store_id"] + "/" + v["product_id"], r["key"]
    assert (v["store_id"], v["product_id"]) not in by, "duplicate " + r["key"]
    by[(v["store_id"], v["product_id"])] = v
assert sorted(by) == [("1", "1"), ("1", "2"), ("1", "3"), ("1", "K"),
                      ("2", "1"), ("2", "2"), ("2", "3")], sorted(by)
D = (pd.Timestamp("2017-12-31") - pd.Timestamp("1970-01-01")).days
for k, v in by.items():
    assert v["generated_for_day"] == D, (k, v["generated_for_day"])
    assert [p["day"] for p in v["horizon"]] == list(range(D + 1, D + 31)), k
    assert v["interval_level"] == 0.95
k = by[("1", "K")]
assert k["model"] == "ma7" and k["fallback_reason"].startswith("constant train part"), k
assert k["params"] == {} and k["llf"] is None
assert all(p["mean"] == 5 and p["lower"] == 5 and p["upper"] == 5 for p in k["horizon"])
for key, v in by.items():
    if key != ("1", "K"):
        assert v["model"] == "sarima(1,1,1)(1,1,1,7)" and v["fallback_reason"] is None, key
        assert sorted(v["params"]) == ["ar.L1", "ar.S.L7", "ma.L1", "ma.S.L7", "sigma2"]

# statsmodels, the notebook's way, with the forecast origin at the last observed day
df = pd.read_csv(sys.argv[2], parse_dates=["date"]).set_index("date")
y = df.quantity_sold.asfreq("D", fill_value=0).astype(float)
assert str(y.index[-1].date()) == "2017-12-31" and len(y) == 731, (y.index[-1], len(y))
y = y[-730:]  # history.days = 730, ending at the closed day
q1, q3 = y.quantile(0.25), y.quantile(0.75)
y = y.clip(q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1))
n_train = int(0.8 * len(y))
train, test = y[:n_train], y[n_train:]
kw = dict(order=(1, 1, 1), seasonal_order=(1, 1, 1, 7), enforce_stationarity=False,
          enforce_invertibility=False)
res = SARIMAX(train.values, **kw).fit(disp=False)
pred = res.forecast(len(test))
mae = float(np.mean(np.abs(test.values - pred)))
full = SARIMAX(y.values, **kw).filter(res.params)
fc = full.get_forecast(30)
mean, ci = fc.predicted_mean, fc.conf_int(alpha=0.05)
v = by[("1", "1")]
tol = 1e-4 * max(1.0, float(train.mean()))
got = np.array([[p["mean"], p["lower"], p["upper"]] for p in v["horizon"]])
gap = np.max(np.abs(got - np.column_stack([mean, ci[:, 0], ci[:, 1]])))
assert gap <= tol, "forecast gap %g > %g" % (gap, tol)
assert abs(v["llf"] - res.llf) <= 1e-6 * abs(res.llf), (v["llf"], res.llf)
assert abs(v["holdout_mae"] - mae) <= tol, (v["holdout_mae"], mae)
names = ["ar.L1", "ma.L1", "ar.S.L7", "ma.S.L7", "sigma2"]
print("store 1 item 1: forecast gap %.2e (tol %.2e), llf %.6f vs %.6f, mae %.4f vs %.4f"
      % (gap, tol, v["llf"], res.llf, v["holdout_mae"], mae))
EOF

metric >"$D/metrics1.txt" || ss_fail "no /metrics"
grep -qx 'streamscore_forecast_fits_total{model="ma7",reason="constant"} 1' "$D/metrics1.txt" ||
    ss_fail "fits metric: $(grep fits_total "$D/metrics1.txt")"
grep -qx 'streamscore_forecast_fits_total{model="sarima",reason="none"} 6' "$D/metrics1.txt" ||
    ss_fail "fits metric: $(grep fits_total "$D/metrics1.txt")"
grep -qx 'streamscore_forecast_last_closed_day{store="1"} 17531' "$D/metrics1.txt" ||
    ss_fail "last closed day: $(grep last_closed "$D/metrics1.txt")"
grep -q '^streamscore_forecast_fit_seconds_count 7$' "$D/metrics1.txt" || ss_fail "fit histogram"
curl -sf "http://127.0.0.1:$MPORT/readyz" >/dev/null || ss_fail "/readyz not ready"
curl -sf "http://127.0.0.1:$MPORT/livez" >/dev/null || ss_fail "/livez failing"
[ "$(ss_redis_cli HGET "${P}fc:done" 1)" = 2017-12-31 ] || ss_fail "fc:done not recorded"

# 3. Restart: nothing re-emitted.
kill -TERM "$FC_PID"
wait "$FC_PID" || ss_fail "forecaster exited non-zero on TERM"
start_fc 2
ss_wait_for "$to" sh -c "curl -sf http://127.0.0.1:$MPORT/metrics |
    grep -q '^streamscore_forecast_polls_total [3-9]'" || ss_fail "restarted forecaster not polling"
tail_all 8 $((3 * SS_TIMEOUT_MULT)) >"$D/fc2.jsonl"
[ "$(wc -l <"$D/fc2.jsonl")" = 7 ] || ss_fail "restart re-emitted: $(wc -l <"$D/fc2.jsonl") forecasts"
grep -q 'forecast store=' "$D/fc2.log" && ss_fail "restart forecast again: $(grep 'forecast store=' "$D/fc2.log")"

# Redis restarts under the running service (same data); then three days close at once:
# catchup=latest forecasts 2018-01-03 only.
ss_redis_restart
tool apply <"$D/close2.jsonl" >>"$D/apply.out" 2>>"$D/apply.log"
ss_wait_for "$to" sh -c "grep -q 'forecast store=2 day=2018-01-03' '$D/fc2.log'" ||
    ss_fail "no catch-up forecast"
tail_all 14 "$to" >"$D/fc3.jsonl"
[ "$(wc -l <"$D/fc3.jsonl")" = 14 ] || ss_fail "expected 14 forecasts, got $(wc -l <"$D/fc3.jsonl")"
$PY - "$D/fc3.jsonl" <<'EOF' || ss_fail "catch-up forecasts wrong"
import json, sys
days = sorted(json.loads(l)["value"]["generated_for_day"] for l in open(sys.argv[1]))
assert days == [17531] * 7 + [17534] * 7, days
EOF
# The counter is read over HTTP while the service may still be finishing the poll: wait for it.
ss_wait_for "$to" sh -c "curl -sf 'http://127.0.0.1:$MPORT/metrics' |
    grep -qx 'streamscore_forecast_store_day_skipped_total 4'" ||
    ss_fail "skipped days: $(metric | grep store_day_skipped)"
[ "$(ss_redis_cli HGET "${P}fc:done" 2)" = 2018-01-03 ] || ss_fail "fc:done not advanced"
ss_log "ok"
