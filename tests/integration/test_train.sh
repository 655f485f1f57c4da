#!/usr/bin/env bash
# streamscore-train on the real UCI Online Retail file: the time-split ROC-AUC of the leak-free
# label is well above chance, the artifact, report and chart are written and the artifact loads
# (scored again through --eval.model with the same AUC). Then, with Debian's python3-sklearn and
# python3-xgboost (skipped with a message when absent): our AUC computation equals sklearn's on
# our predictions, our AUC is at least a random forest's (100 trees, depth 10) on the same
# point-in-time sets, and a model trained by the Python xgboost package loads and predicts the
# same probabilities as in Python. No network, no server.
. "$(dirname "$0")/lib.sh"

data="$SS_SHARED_DIR/data/online_retail.csv.gz"
[ -f "$data" ] || ss_skip "no $data"
train="$SS_BIN/streamscore-train"
[ -x "$train" ] || ss_fail "no $train"
d="$SS_TEST_DIR"

ss_log "training on $data"
"$train" --out "$d/model" --export.sets "$d/set-" --predictions "$d/pred.csv" \
    --version it-test-1 "$data" >"$d/report.out" 2>"$d/train.err" ||
    { cat "$d/train.err" >&2; ss_fail "streamscore-train failed"; }
cat "$d/report.out"

for f in manifest.json xgboost.json report.txt importance.svg; do
    [ -s "$d/model/$f" ] || ss_fail "artifact file $f missing"
done
grep -q '<svg ' "$d/model/importance.svg" || ss_fail "chart is not SVG"
grep -q '"version": "it-test-1"' "$d/model/manifest.json" || ss_fail "version not in manifest"

auc=$(awk '$1 == "xgboost" && NF == 3 {print $2}' "$d/report.out")
base=$(awk '/^baseline: logistic regression/ {print $4}' "$d/report.out")
[ -n "$auc" ] && [ -n "$base" ] || ss_fail "no AUC in the report"
ss_log "xgboost ROC-AUC $auc, logistic baseline $base"
awk -v a="$auc" 'BEGIN {exit !(a > 0.68)}' || ss_fail "ROC-AUC $auc not well above 0.5"
awk -v a="$base" 'BEGIN {exit !(a > 0.6)}' || ss_fail "baseline ROC-AUC $base too low"

# The saved artifact loads and reproduces the reported AUC on the evaluation rows.
"$train" --eval.model "$d/model" "$data" >"$d/eval.out" 2>"$d/eval.err" ||
    { cat "$d/eval.err" >&2; ss_fail "artifact does not load"; }
cat "$d/eval.out"
grep -q "model it-test-1 on" "$d/eval.out" || ss_fail "reloaded model has the wrong version"
again=$(sed -n 's/.*ROC-AUC \([0-9.]*\).*/\1/p' "$d/eval.out")
awk -v a="$auc" -v b="$again" 'BEGIN {d = a - b; exit !(d < 1e-4 && d > -1e-4)}' ||
    ss_fail "reloaded AUC $again differs from $auc"

# A leaky training cut-off (label window overlapping the evaluation period) is refused.
if "$train" --out "$d/leak" --train.at 2011-08-01 --eval.at 2011-09-01 "$data" \
    >/dev/null 2>"$d/leak.err"; then
    ss_fail "overlapping cut-offs accepted"
fi
grep -q "evaluation" "$d/leak.err" || ss_fail "unexpected message: $(cat "$d/leak.err")"

py=/usr/bin/python3
if ! $py -c 'import sklearn, pandas' 2>/dev/null; then
    ss_log "SKIP sklearn comparison: python3-sklearn/pandas not importable by $py"
    exit 0
fi
$py -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' \
    "$d/model/importance.svg" || ss_fail "importance.svg is not well-formed XML"
$py "$SS_SOURCE_DIR/bench/churn_vs_sklearn.py" "$d/set-" "$d/pred.csv" | tee "$d/cmp.out"
sk_auc=$(awk '/^streamscore xgboost/ {print $(NF-2)}' "$d/cmp.out")
rf_auc=$(awk '/^sklearn random forest/ {print $(NF-2)}' "$d/cmp.out")
awk -v a="$auc" -v b="$sk_auc" 'BEGIN {d = a - b; exit !(d < 1e-4 && d > -1e-4)}' ||
    ss_fail "our ROC-AUC $auc differs from sklearn's $sk_auc on the same predictions"
sk_pr=$(awk '/^streamscore xgboost/ {print $NF}' "$d/cmp.out")
pr=$(awk '$1 == "xgboost" && NF == 3 {print $3}' "$d/report.out")
awk -v a="$pr" -v b="$sk_pr" 'BEGIN {d = a - b; exit !(d < 1e-4 && d > -1e-4)}' ||
    ss_fail "our PR-AUC $pr differs from sklearn's average precision $sk_pr"
awk -v a="$auc" -v b="$rf_auc" 'BEGIN {exit !(a >= b - 0.005)}' ||
    ss_fail "xgboost ROC-AUC $auc below the random forest's $rf_auc"

if ! $py -c 'import xgboost' 2>/dev/null; then
    ss_log "SKIP python model: python3-xgboost not installed (apt-get install python3-xgboost)"
    exit 0
fi
ss_log "training a model with the Python xgboost package"
$py - "$d" <<'EOF'
import sys
import numpy as np
import pandas as pd
import xgboost as xgb
d = sys.argv[1]
t = pd.read_csv(d + "/set-train.csv", dtype={"customer_id": str})
e = pd.read_csv(d + "/set-eval.csv", dtype={"customer_id": str})
f = [c for c in t.columns if c not in ("customer_id", "cutoff_ms", "label")]
b = xgb.train({"objective": "binary:logistic", "max_depth": 3, "eta": 0.1, "seed": 1},
              xgb.DMatrix(t[f], label=t["label"], missing=np.nan), 40)
b.save_model(d + "/py-model.json")
p = b.predict(xgb.DMatrix(e[f], missing=np.nan))
pd.DataFrame({"customer_id": e.customer_id, "cutoff_ms": e.cutoff_ms, "py": p}).to_csv(
    d + "/py-pred.csv", index=False)
EOF
"$train" --eval.model "$d/py-model.json" --predictions "$d/c-pred.csv" "$data" \
    >"$d/py-eval.out" 2>"$d/py-eval.err" ||
    { cat "$d/py-eval.err" >&2; ss_fail "python-trained model does not load"; }
cat "$d/py-eval.out"
$py - "$d" <<'EOF' || ss_fail "python and C predictions differ"
import sys
import pandas as pd
d = sys.argv[1]
py = pd.read_csv(d + "/py-pred.csv", dtype={"customer_id": str})
c = pd.read_csv(d + "/c-pred.csv", dtype={"customer_id": str})
m = py.merge(c, on=["customer_id", "cutoff_ms"], how="outer")
assert len(m) == len(py) == len(c), "row sets differ"
diff = (m["py"] - m["score"]).abs().max()
print(f"python vs C predictions on {len(m)} rows: max abs diff {diff:.3g}")
sys.exit(0 if diff < 1e-6 else 1)
EOF
ss_log "ok"
