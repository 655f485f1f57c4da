#!/usr/bin/env bash
# The whole store-item file (10 stores x 50 items) through the local stack:
#  1. the last W days up to 2017-12-31 (W = SS_STOREITEM_DAYS, default 730 = history.days) of
#     ../shared/data/store_item_sales.csv.gz, plus one sale per store on 2018-01-02 so that
#     2017-12-31 closes (lateness 1 h), replayed by streamscore-replay --format store-item into
#     the stack and applied by streamscore-features;
#  2. streamscore-forecaster backfill --day 2017-12-31 (fast mode, fit.threads 2);
#  3. exactly 500 DemandForecasts, one per (store, item), 30 finite values with finite bounds in
#     order (lower <= mean <= upper), model sarima or the ma7 fallback with a reason; then the
#     holdout MAE of each pair (the notebook's 20 % test part, forecast from the end of train,
#     `holdout_mae` of the records) against the seasonal naive (the last train week repeated)
#     on the same clipped test part, computed here from the input; SUMMARY lines print the
#     comparison (bench/storeitem.sh reads SUMMARY_JSON and SUMMARY_TIMES).
# Label heavy (skipped in the sanitized pass). Prints SKIP when ../shared/data is absent.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
FC="$SS_BIN/streamscore-forecaster"
FEAT="$SS_BIN/streamscore-features"
REPLAY="$SS_BIN/streamscore-replay"
TAIL="$SS_BIN/streamscore-tail"
DATA="$SS_SHARED_DIR/data/store_item_sales.csv.gz"
DAYS=${SS_STOREITEM_DAYS:-730}
for x in "$FC" "$FEAT" "$REPLAY" "$TAIL"; do [ -x "$x" ] || ss_fail "missing $x (build first)"; done
[ -f "$DATA" ] || ss_skip "$DATA absent (../shared/data not mounted)"
if ! [[ "$DAYS" =~ ^[0-9]+$ ]] || [ "$DAYS" -lt 60 ] || [ "$DAYS" -gt 730 ]; then
    ss_fail "SS_STOREITEM_DAYS must be a number of days in [60, 730], got '$DAYS'"
fi
D=$SS_TEST_DIR
TX=$(ss_topic sitx)
T=$(ss_topic sifc)
P="si$$:"
MPORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# 1. The input: W days ending 2017-12-31, then one closer per store on 2018-01-02.
$PY - "$DATA" "$D/in.csv" "$DAYS" <<'EOF' || ss_fail "cannot prepare the input"
import sys
import pandas as pd
data, out, days = sys.argv[1], sys.argv[2], int(sys.argv[3])
df = pd.read_csv(data)
first = (pd.Timestamp("2017-12-31") - pd.Timedelta(days=days - 1)).strftime("%Y-%m-%d")
df = df[(df.date >= first) & (df.date <= "2017-12-31")]
assert df.groupby(["store", "item"]).ngroups == 500, "expected 500 (store, item) pairs"
close = pd.DataFrame({"date": "2018-01-02", "store": range(1, 11), "item": 1, "sales": 1})
pd.concat([df, close]).to_csv(out, index=False)
EOF
N=$(($(wc -l <"$D/in.csv") - 1))
ss_log "input: $N rows ($DAYS days x 500 pairs + 10 closers)"

ss_start_stack --partitions "$TX=12,$T=3"
C=$SS_STACK_CONF
processed() {
    curl -s "http://127.0.0.1:$MPORT/metrics" |
        awk '/^streamscore_features_(orders_applied|orders_duplicate|dead_letters)_total /{s+=$2} END{print s+0}'
}
processed_ge() { [ "$(processed)" -ge "$1" ]; }

# Two years are replayed at once and a cold consumer's partitions progress unevenly (one may
# reach 2018 before another starts in 2016): every event must still be applied, with the
# service's default checks (no dead letters, asserted below).
t0=$SECONDS
ss_bg features "$FEAT" -c "$C" --topic.transactions "$TX" --redis.prefix "$P" --group.id "si-$$" \
    --session.timeout.ms 6000 --metrics.port "$MPORT" --demand.allowed_lateness_ms 3600000
"$REPLAY" -c "$C" --topic.transactions "$TX" --format store-item "$D/in.csv" >"$D/replay.out" \
    2>"$D/replay.log" || ss_fail "replay failed: $(tail -n 3 "$D/replay.log")"
N_EV=$(awk '/^events/ {print $2}' "$D/replay.out")
[ "${N_EV:-0}" -gt 0 ] || ss_fail "no event count from the replay: $(cat "$D/replay.out")"
# Every row sold something except the zero-sales rows the replay rejects.
if [ "$N_EV" -gt "$N" ] || [ "$N_EV" -lt $((N - N / 100)) ]; then
    ss_fail "replayed $N_EV events from $N rows"
fi
ss_log "replayed $N_EV events in $((SECONDS - t0)) s"
ss_wait_for 120 processed_ge "$N_EV" || ss_fail "features processed $(processed) of $N_EV events"
dead=$(curl -s "http://127.0.0.1:$MPORT/metrics" | awk '$1 == "streamscore_features_dead_letters_total" {print $2}')
[ "$dead" = 0 ] || ss_fail "features dead-lettered ${dead:-?} events (see features.log)"
ss_log "features applied $N_EV events in $((SECONDS - t0)) s"

# 2. Every store as of 2017-12-31.
t1=$SECONDS
"$FC" -c "$C" --redis.prefix "$P" --topic.forecasts "$T" --demand.allowed_lateness_ms 3600000 \
    --history.days "$DAYS" --fit.threads 2 --mode fast backfill --day 2017-12-31 >"$D/backfill.out" \
    2>"$D/backfill.log" || ss_fail "backfill failed: $(tail -n 3 "$D/backfill.log")"
grep -q '^backfill: 10 store(s) forecast, 0 skipped$' "$D/backfill.out" ||
    ss_fail "backfill: $(cat "$D/backfill.out")"
t2=$SECONDS
ss_log "backfill of 10 stores x 50 items in $((t2 - t1)) s"
echo "SUMMARY_TIMES {\"events\": $N_EV, \"features_s\": $((t1 - t0)), \"backfill_s\": $((t2 - t1))}"
[ "$(grep -c 'forecast store=[0-9]* day=2017-12-31 products=50 ' "$D/backfill.log")" = 10 ] ||
    ss_fail "not 10 stores x 50 products: $(grep 'forecast store=' "$D/backfill.log")"
"$TAIL" -c "$C" --count 500 --timeout $((30 * SS_TIMEOUT_MULT)) "$T" >"$D/fc.jsonl" 2>"$D/tail.log" ||
    ss_fail "tail failed: $(tail -n 3 "$D/tail.log")"
[ "$(wc -l <"$D/fc.jsonl")" = 500 ] || ss_fail "expected 500 forecasts, got $(wc -l <"$D/fc.jsonl")"

# 3. 500 pairs, their values, and the MAE comparison with the seasonal naive.
$PY - "$D/fc.jsonl" "$D/in.csv" "$DAYS" <<'EOF' || ss_fail "forecasts do not check out"
import json, math, sys
import numpy as np, pandas as pd
recs = [json.loads(l) for l in open(sys.argv[1])]
days = int(sys.argv[3])
by = {}
for r in recs:
    v = r["value"]
    k = (v["store_id"], v["product_id"])
    assert r["key"] == "%s/%s" % k, r["key"]
    assert k not in by, "duplicate %s" % (k,)
    by[k] = v
want = {(str(s), str(i)) for s in range(1, 11) for i in range(1, 51)}
assert set(by) == want, "pairs: %d, missing %s, extra %s" % (
    len(by), sorted(want - set(by))[:5], sorted(set(by) - want)[:5])
D = (pd.Timestamp("2017-12-31") - pd.Timestamp("1970-01-01")).days
n_fb = 0
for k, v in by.items():
    assert v["generated_for_day"] == D, (k, v["generated_for_day"])
    h = v["horizon"]
    assert len(h) == 30 and [p["day"] for p in h] == list(range(D + 1, D + 31)), k
    for p in h:
        assert all(isinstance(p[x], (int, float)) and math.isfinite(p[x])
                   for x in ("mean", "lower", "upper")), (k, p)
        assert p["lower"] <= p["mean"] <= p["upper"], (k, p)
    if v["model"] == "ma7":
        assert v["fallback_reason"], ("ma7 without a reason", k)
        n_fb += 1
    else:
        assert v["model"].startswith("sarima") and v["fallback_reason"] is None, (k, v["model"])
    assert v["holdout_mae"] is not None and math.isfinite(v["holdout_mae"]), k
    assert v["holdout_mae"] >= 0, k

# The seasonal naive on the service's own holdout: the W-day series of each pair (days without a
# sale are 0), clipped with pandas quantiles, split 80 / 20 (int(0.8 n) train days); the last
# train week repeated over the test part.
df = pd.read_csv(sys.argv[2])
df = df[df.date <= "2017-12-31"]
idx = pd.date_range(end="2017-12-31", periods=days, freq="D")
rows = []
for (s, i), g in df.groupby(["store", "item"]):
    y = g.set_index(pd.to_datetime(g.date)).sales.astype(float).reindex(idx, fill_value=0.0)
    q1, q3 = y.quantile(0.25), y.quantile(0.75)
    y = y.clip(q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)).values
    nt = int(0.8 * len(y))
    test = y[nt:]
    last = y[nt - 7:nt]
    naive = np.array([last[j % 7] for j in range(len(test))])
    rows.append((by[(str(s), str(i))]["holdout_mae"], float(np.mean(np.abs(test - naive)))))
assert len(rows) == 500, len(rows)
a = np.array(rows)
assert np.all(np.isfinite(a)), "non-finite MAE"
wins = int(np.sum(a[:, 0] < a[:, 1]))
print("SUMMARY pairs=%d sarima=%d fallback=%d days=%d test_days=%d"
      % (len(by), 500 - n_fb, n_fb, days, len(test)))
print("SUMMARY mean holdout MAE: sarima %.3f, seasonal naive %.3f; sarima better on %d of 500"
      % (a[:, 0].mean(), a[:, 1].mean(), wins))
print("SUMMARY median holdout MAE: sarima %.3f, seasonal naive %.3f"
      % (np.median(a[:, 0]), np.median(a[:, 1])))
print("SUMMARY_JSON " + json.dumps({
    "pairs": len(by), "sarima": 500 - n_fb, "fallback": n_fb, "days": days,
    "test_days": int(len(test)), "mae_sarima_mean": float(a[:, 0].mean()),
    "mae_naive_mean": float(a[:, 1].mean()), "mae_sarima_median": float(np.median(a[:, 0])),
    "mae_naive_median": float(np.median(a[:, 1])), "sarima_wins": wins}))
EOF
ss_log "total $((SECONDS - t0)) s"
echo "PASS"
