#!/usr/bin/python3
"""Compares streamscore-train's churn model with scikit-learn on the same point-in-time sets.

Usage: bench/churn_vs_sklearn.py SETS_PREFIX [PREDICTIONS.csv]
  SETS_PREFIX       the --export.sets prefix given to streamscore-train (reads <prefix>train.csv,
                    <prefix>eval.csv: customer_id,cutoff_ms,<features>,label; empty = missing)
  PREDICTIONS.csv   streamscore-train --predictions output for the same evaluation rows

Prints ROC-AUC / PR-AUC of a random forest (100 trees, depth 10, as the issue asks), of sklearn's
logistic regression, and (given PREDICTIONS) recomputes the C model's AUC with sklearn's
roc_auc_score / average_precision_score. Run with Debian's /usr/bin/python3 (python3-sklearn).
"""
import sys

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def main():
    prefix = sys.argv[1]
    train = pd.read_csv(prefix + "train.csv", dtype={"customer_id": str})
    ev = pd.read_csv(prefix + "eval.csv", dtype={"customer_id": str})
    feats = [c for c in train.columns if c not in ("customer_id", "cutoff_ms", "label")]
    xt, yt = train[feats].to_numpy(float), train["label"].to_numpy()
    xe, ye = ev[feats].to_numpy(float), ev["label"].to_numpy()
    rows = []
    rf = make_pipeline(SimpleImputer(strategy="median"),
                       RandomForestClassifier(n_estimators=100, max_depth=10, random_state=42,
                                              n_jobs=2, class_weight="balanced"))
    rf.fit(xt, yt)
    p = rf.predict_proba(xe)[:, 1]
    rows.append(("sklearn random forest (100 trees, depth 10)", p))
    lr = make_pipeline(SimpleImputer(strategy="median"), StandardScaler(),
                       LogisticRegression(max_iter=1000))
    lr.fit(np.sign(xt) * np.log1p(np.abs(np.nan_to_num(xt, nan=0.0))), yt)
    p = lr.predict_proba(np.sign(xe) * np.log1p(np.abs(np.nan_to_num(xe, nan=0.0))))[:, 1]
    rows.append(("sklearn logistic regression (log1p, scaled)", p))
    if len(sys.argv) > 2:
        pred = pd.read_csv(sys.argv[2], dtype={"customer_id": str})
        key = ["customer_id", "cutoff_ms"]
        merged = ev[key + ["label"]].merge(pred, on=key, suffixes=("", "_pred"), how="left")
        if merged["score"].isna().any() or (merged["label"] != merged["label_pred"]).any():
            sys.exit("predictions do not match the evaluation rows")
        rows.append(("streamscore xgboost (scored by sklearn)", merged["score"].to_numpy()))
    print(f"evaluation rows {len(ye)}, churn rate {ye.mean():.4f}; training rows {len(yt)}")
    for name, p in rows:
        print(f"{name:46s} ROC-AUC {roc_auc_score(ye, p):.6f} PR-AUC "
              f"{average_precision_score(ye, p):.6f}")


if __name__ == "__main__":
    main()
