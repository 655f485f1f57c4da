#!/usr/bin/env bash
# streamscore-scorer on the local stack: generator history -> churn model (streamscore-train) ->
# CustomerFeatures (streamscore-scorertool features, the feature service's rfm code) -> scorer ->
# churn-scores. Checks: every customer scored, every event scored once, EVENT probabilities equal
# the artifact's predictions (Python xgboost) for the feature rows within 1e-6, INACTIVITY scores
# equal the predictions for the rows recomputed at their features_as_of, risk levels follow the
# thresholds, previous_risk_level chains per customer (also across a restart that rebuilds the
# state by replay), customers who went quiet reach high risk through inactivity alone, a
# hot-reloaded model's version appears in later scores, an undecodable event is dead-lettered
# (not fatal), and the lookup API answers (200 / 404).
. "$(dirname "$0")/lib.sh"

B=$SS_BIN
D=$SS_TEST_DIR
FT=$(ss_topic scorer-features)
ST=$(ss_topic scorer-scores)
ss_start_stack --no-redis --partitions "$FT=3,$ST=3"
C=$SS_STACK_CONF
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT"

# History with known quitters, and two models (the second one is hot-reloaded later).
"$B/streamscore-gen" --out "$D/gen.csv" --customers 200 --days 300 --churn-share 0.3 --seed 11 \
    2>"$D/gen.log" || ss_fail "gen failed"
"$B/streamscore-train" --format native --out "$D/model" --version test-v1 "$D/gen.csv" \
    >"$D/train1.out" 2>"$D/train1.log" || ss_fail "train failed"
"$B/streamscore-train" --format native --out "$D/model2" --version test-v2 --xgb.rounds 250 --xgb.seed 7 \
    "$D/gen.csv" >"$D/train2.out" 2>"$D/train2.log" || ss_fail "train 2 failed"

feed() { # feed NAME [scorertool options]: produce CustomerFeatures, keep them as JSON lines
    local name=$1
    shift
    "$B/streamscore-scorertool" -c "$C" features --topic.features "$FT" --produce \
        --jsonl "$D/$name.jsonl" "$@" "$D/gen.csv" >"$D/$name.out" 2>"$D/$name.log" ||
        ss_fail "scorertool features failed: $(tail -3 "$D/$name.log")"
    sed -n 's/^events=\([0-9]*\) .*/\1/p' "$D/$name.out"
}
start_scorer() {
    ss_bg "$1" "$B/streamscore-scorer" -c "$C" --topic.features "$FT" --topic.scores "$ST" \
        --group.id "g-$FT" --model.path "$D/model" --metrics.port "$PORT" \
        --session.timeout.ms 6000 --model.check.interval.ms 200 --batch.size 300
    SCORER_PID=$SS_LAST_PID
    ss_wait_for 30 curl -sf "$URL/readyz" || ss_fail "scorer not ready"
}
metric() { curl -s "$URL/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
wait_scored() {
    ss_wait_for 30 sh -c "curl -s '$URL/metrics' | grep -qx 'streamscore_churn_events_total{result=\"scored\"} $1'" ||
        ss_fail "scorer did not score $1 events (got $(metric 'streamscore_churn_events_total{result="scored"}'))"
}
scores_total() { curl -s "$URL/metrics" | awk '/^streamscore_churn_scores_total/ {s += $2} END {print s + 0}'; }
stop_scorer() {
    kill -TERM "$SCORER_PID"
    wait "$SCORER_PID" || ss_fail "scorer exited with an error"
}

# Phase 1: history up to 2024-07-01, scored by a first scorer run.
n1=$(feed f1 --until 2024-07-01)
start_scorer scorer1
wait_scored "$n1"
s1=$(scores_total)
ss_log "phase 1: $n1 events, $s1 scores"
stop_scorer

# Phase 2: a restarted scorer rebuilds its state by replaying up to the committed offsets.
start_scorer scorer2
grep -q "state rebuilt: $n1 events" "$D/scorer2.log" || ss_fail "no replay of $n1 events: $(grep replay "$D/scorer2.log")"
printf 'bad-key\tnot avro\n' | kcat -b "$BROKERS" -P -t "$FT" -K '\t' # dead-lettered, not fatal
n2=$(feed f2 --from 2024-07-01 --until 2024-09-01)
wait_scored "$n2"

# Phase 3: a new model replaces the artifact (model file, then manifest, each renamed into place).
cp "$D/model/xgboost.json" "$D/model1.xgboost.json"
cp "$D/model/manifest.json" "$D/model1.manifest.json"
cp "$D/model2/xgboost.json" "$D/model/.x.tmp" && mv "$D/model/.x.tmp" "$D/model/xgboost.json"
cp "$D/model2/manifest.json" "$D/model/.m.tmp" && mv "$D/model/.m.tmp" "$D/model/manifest.json"
ss_wait_for 20 grep -q "model reloaded: version=test-v2" "$D/scorer2.log" || ss_fail "model not reloaded"
n3=$(feed f3 --from 2024-09-01)
wait_scored "$((n2 + n3))"
s2=$(scores_total)
total=$((s1 + s2))
ss_log "phases 2-3: $((n2 + n3)) events; $total scores in all"

# Lookup API: a known customer matches its latest score; unknown ones are 404.
cid=$(head -1 "$D/f3.jsonl" | jq -r .customer_id)
curl -sf "$URL/v1/customers/$cid/churn" >"$D/lookup.json" || ss_fail "lookup of $cid failed"
jq -e --arg c "$cid" '.customer_id == $c and (.probability|type) == "number" and
    (.risk_level == "low" or .risk_level == "medium" or .risk_level == "high") and
    .model_version == "test-v2" and (.features.frequency|type) == "number"' "$D/lookup.json" >/dev/null ||
    ss_fail "bad lookup answer: $(cat "$D/lookup.json")"
code=$(curl -s -o "$D/404.json" -w '%{http_code}' "$URL/v1/customers/nobody-here/churn")
[ "$code" = 404 ] || ss_fail "unknown customer answered $code"
jq -e '.error == "unknown customer '"'"'nobody-here'"'"'"' "$D/404.json" >/dev/null || ss_fail "404 body: $(cat "$D/404.json")"
curl -s "$URL/metrics" >"$D/metrics.txt"
grep -q '^streamscore_churn_model_info{version="test-v2"} 1$' "$D/metrics.txt" || ss_fail "model_info metric"
grep -q '^streamscore_churn_batch_seconds_count [1-9]' "$D/metrics.txt" || ss_fail "batch histogram empty"
grep -q '^streamscore_churn_events_total{result="dead_letter"} 1$' "$D/metrics.txt" ||
    ss_fail "the undecodable event was not dead-lettered"
grep -q "dead-letter" "$D/scorer2.log" || ss_fail "no dead-letter log line"
grep -q '^streamscore_churn_sweep_seconds_count [1-9]' "$D/metrics.txt" || ss_fail "sweep histogram empty"
grep -q '^streamscore_churn_scores_total{risk_level="high",reason="inactivity"} [1-9]' "$D/metrics.txt" ||
    ss_fail "no inactivity score counted"

# Every score event, decoded.
"$B/streamscore-tail" -c "$C" --count "$total" --timeout 30 "$ST" >"$D/scores.jsonl" 2>"$D/tail.log"
[ "$(wc -l <"$D/scores.jsonl")" -eq "$total" ] || ss_fail "tail got $(wc -l <"$D/scores.jsonl") of $total scores"
jq -e 'select(.value == null)' "$D/scores.jsonl" >/dev/null && ss_fail "a score event did not decode"
curl -s "$URL/v1/customers/$cid/churn" >"$D/lookup2.json"

/usr/bin/python3 - "$D" <<'EOF' || ss_fail "score checks failed"
import json, math, sys
from collections import defaultdict
import numpy as np
import xgboost as xgb

d = sys.argv[1]
DAY = 86400000
names = ["recency_days", "frequency", "total_spent", "avg_order", "order_std",
         "days_since_first_order", "purchase_frequency", "recent_orders_30d", "return_count",
         "return_amount"]
feats = [json.loads(l) for f in ("f1", "f2", "f3") for l in open(f"{d}/{f}.jsonl")]
scores = [json.loads(l) for l in open(f"{d}/scores.jsonl")]
# model 1's artifact was replaced in place: its files were copied aside before
man2 = json.load(open(f"{d}/model2/manifest.json"))
b2 = xgb.Booster(model_file=f"{d}/model2/xgboost.json")
b1 = xgb.Booster(model_file=f"{d}/model1.xgboost.json")
man1 = json.load(open(f"{d}/model1.manifest.json"))
models = {"test-v1": (b1, man1["thresholds"]), "test-v2": (b2, man2["thresholds"])}

def level(p, t):
    return "HIGH" if p > t["high"] else "MEDIUM" if p > t["medium"] else "LOW"

def row_at(e, T, purchases):
    has = e["frequency"] > 0
    r = [float(e[n]) for n in names]
    if not has:
        r[0] = r[5] = math.nan
    elif T != e["as_of"]:
        r[0] = float((T - e["last_order_time"]) // DAY)
        r[7] = float(sum(1 for t in purchases if T - 30 * DAY <= t <= T))
    return r

def predict(version, rows):
    b, _ = models[version]
    if not rows:
        return np.array([])
    return b.predict(xgb.DMatrix(np.array(rows, dtype=np.float32), missing=np.nan,
                                 feature_names=names))

# per customer: events in order, with the purchase times known after each
hist = defaultdict(list)
ptimes = defaultdict(list)
for e in feats:
    c = e["customer_id"]
    prev = hist[c][-1] if hist[c] else None
    if e["frequency"] > 0 and (prev is None or e["last_order_time"] > prev["last_order_time"]):
        ptimes[c].append(e["last_order_time"])
    e["_p"] = list(ptimes[c])
    hist[c].append(e)

vals = [s["value"] for s in scores]
ev_scores = [v for v in vals if v["reason"] == "EVENT"]
in_scores = [v for v in vals if v["reason"] == "INACTIVITY"]
assert len(ev_scores) == len(feats), (len(ev_scores), len(feats))
assert {v["customer_id"] for v in vals} == set(hist), "not every customer was scored"
assert {v["model_version"] for v in vals} == {"test-v1", "test-v2"}, {v["model_version"] for v in vals}

# EVENT: the artifact's prediction for the event's own row, within 1e-6
by_key = defaultdict(list)
for e in feats:
    by_key[(e["customer_id"], e["as_of"])].append(e)
worst, checked = 0.0, 0
for ver in models:
    sel = [v for v in ev_scores if v["model_version"] == ver]
    rows = [row_at(by_key[(v["customer_id"], v["features_as_of"])][-1], v["features_as_of"], [])
            for v in sel]
    p = predict(ver, rows)
    for v, q in zip(sel, p):
        if len(by_key[(v["customer_id"], v["features_as_of"])]) > 1:
            continue  # two orders at the same instant: either row
        worst = max(worst, abs(v["probability"] - float(q)))
        checked += 1
        assert v["risk_level"] == level(v["probability"], models[ver][1]), v
assert worst <= 1e-6, f"EVENT probability off by {worst}"

# INACTIVITY: the prediction for some prefix of the customer's events, recomputed at T
worst_in = 0.0
for ver in models:
    sel = [v for v in in_scores if v["model_version"] == ver]
    cand_rows, owner = [], []
    for i, v in enumerate(sel):
        T = v["features_as_of"]
        assert T % DAY == 0, f"sweep time {T} is not a midnight"
        for e in hist[v["customer_id"]]:
            if e["as_of"] <= T:
                cand_rows.append(row_at(e, T, e["_p"]))
                owner.append(i)
    p = predict(ver, cand_rows)
    best = [math.inf] * len(sel)
    for i, q in zip(owner, p):
        best[i] = min(best[i], abs(sel[i]["probability"] - float(q)))
    for v, b in zip(sel, best):
        assert b <= 1e-6, f"INACTIVITY score unexplained by any row: {v} ({b})"
        assert v["risk_level"] == level(v["probability"], models[ver][1]), v
        worst_in = max(worst_in, b)

# previous_risk_level chains per customer in partition order (across the restart)
last = {}
for s in sorted(scores, key=lambda s: (s["partition"], s["offset"])):
    v = s["value"]
    c = v["customer_id"]
    assert s["key"] == c, s
    assert v["previous_risk_level"] == last.get(c), (v, last.get(c))
    if v["reason"] == "INACTIVITY":
        assert v["risk_level"] != last.get(c), f"inactivity score without a level change: {v}"
    last[c] = v["risk_level"]

# customers quiet for 90+ days at the end were raised by inactivity alone (no event since their
# last purchase moved them): all to medium or high, most to high (the model saturates below 0.7
# for a few long-standing big spenders)
end = max(e["as_of"] for e in feats)
quiet = [c for c in hist if end - hist[c][-1]["last_order_time"] >= 90 * DAY]
final = {}
for s in sorted(scores, key=lambda s: (s["partition"], s["offset"])):
    final[s["value"]["customer_id"]] = s["value"]
assert len(quiet) >= 20, len(quiet)
for c in quiet:
    f = final[c]
    assert f["reason"] == "INACTIVITY" and f["risk_level"] != "LOW", (c, f)
    assert f["features_as_of"] > hist[c][-1]["last_order_time"], (c, f)
high_in = [c for c in quiet if final[c]["risk_level"] == "HIGH"]
assert len(high_in) >= 0.75 * len(quiet), (len(high_in), len(quiet))

look = json.load(open(f"{d}/lookup2.json"))
f = final[look["customer_id"]]
assert abs(look["probability"] - f["probability"]) < 1e-12 or look["features_as_of"] > f["features_as_of"], (look, f)
assert look["risk_level"].upper() == f["risk_level"], (look, f)
print(f"ok: {len(vals)} scores ({len(ev_scores)} EVENT, max diff {worst:.2e} over {checked}; "
      f"{len(in_scores)} INACTIVITY, max diff {worst_in:.2e}); {len(high_in)}/{len(quiet)} quiet "
      f"customers high by inactivity")
EOF
echo "PASS"
