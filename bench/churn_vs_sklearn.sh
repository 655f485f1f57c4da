#!/usr/bin/env bash
# Churn model vs scikit-learn on the same point-in-time sets of the UCI Online Retail file:
# streamscore-train (XGBoost + logistic baseline) exports its train/eval sets and predictions,
# then bench/churn_vs_sklearn.py trains a random forest (100 trees, depth 10) and sklearn's
# logistic regression on them and prints every ROC-AUC / PR-AUC side by side.
# Usage: bench/churn_vs_sklearn.sh [BIN_DIR=build/bin] [DATA=../shared/data/online_retail.csv.gz]
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build/bin}
DATA=${2:-../shared/data/online_retail.csv.gz}
[ -f "$DATA" ] || { echo "not measured: $DATA is absent"; exit 0; }
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
"$B/streamscore-train" --out "$d/model" --export.sets "$d/set-" --predictions "$d/pred.csv" "$DATA" |
    grep -E "ROC|model|xgboost|logreg|rule|chance" || true
/usr/bin/python3 bench/churn_vs_sklearn.py "$d/set-" "$d/pred.csv"
