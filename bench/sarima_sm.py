"""statsmodels' time per SARIMA fit on the golden series, the reference of bench/sarima_bench.c
(bench/run helper; /usr/bin/python3 with python3-statsmodels).

    sarima_sm.py --shared DIR [--fits K] [--quick]

Same model, options and series as the golden data (../shared/golden/sarima/README.md):
SARIMAX(1,1,1)(1,1,1,7), enforce_stationarity=False, enforce_invertibility=False,
fit(disp=False) on the clipped train part, single-threaded BLAS (the environment variables are
set before numpy is imported). Series grouped by length as in sarima_bench.c. Each series of a
group is fitted K times (default 1; --quick: only the first series of each group); model construction is included in the time, as in a
service that builds one model per product. Prints one JSON line per group: n, train, fits,
ms_per_fit, fits_per_s, and the largest |llf - golden llf| (a check that the same fit ran).

    sarima_sm.py --shared DIR --storeitem [--quick]

Instead times the day d+1 series of sarima_bench.c's store-item warm row: stores 1-10, items
1-2 (--quick: store 1 item 1), the 730 days ending 2017-12-31, clipped to Q1 - 1.5 IQR ..
Q3 + 1.5 IQR (linear quantiles, as dprep_clip), train = int(0.8 n); a cold fit each, as
statsmodels has no warm start here. Prints one JSON line: set, n, train, fits, ms_per_fit,
fits_per_s, mean_llf.
"""
import os

for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[v] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
from statsmodels.tsa.statespace.sarimax import SARIMAX  # noqa: E402

GROUPS = [(1, 2, 3), (4, 5, 6, 7), (8, 9, 10, 14)]


def storeitem(a):
    import pandas as pd
    df = pd.read_csv(os.path.join(a.shared, "data/store_item_sales.csv.gz"))
    pairs = [(1, 1)] if a.quick else [(s, i) for s in range(1, 11) for i in (1, 2)]
    series = []
    for s, i in pairs:
        y = df[(df.store == s) & (df.item == i)].sort_values("date").sales.to_numpy(float)[-730:]
        q1, q3 = np.quantile(y, 0.25), np.quantile(y, 0.75)
        y = np.clip(y, q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1))
        series.append(y[:int(0.8 * len(y))])
    fits, llfs = 0, []
    t0 = time.perf_counter()
    for _ in range(a.fits):
        for train in series:
            m = SARIMAX(train, order=(1, 1, 1), seasonal_order=(1, 1, 1, 7),
                        enforce_stationarity=False, enforce_invertibility=False)
            llfs.append(m.fit(disp=False).llf)
            fits += 1
    secs = time.perf_counter() - t0
    print(json.dumps({"set": "storeitem", "n": 730, "train": len(series[0]), "fits": fits,
                      "ms_per_fit": 1000.0 * secs / fits, "fits_per_s": fits / secs,
                      "mean_llf": float(np.mean(llfs))}))
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", required=True)
    ap.add_argument("--fits", type=int, default=1)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--storeitem", action="store_true")
    a = ap.parse_args()
    warnings.simplefilter("ignore")
    if a.storeitem:
        return storeitem(a)
    for g in GROUPS:
        if a.quick:
            g = g[:1]
        series = []
        for i in g:
            with open(os.path.join(a.shared, "golden/sarima/expected_%02d.json" % i)) as f:
                j = json.load(f)
            y = np.asarray(j["clipped_series"], dtype=float)
            series.append((y[:j["n_train"]], j["llf"], len(y), j["n_train"]))
        fits = 0
        dllf = 0.0
        t0 = time.perf_counter()
        for _ in range(a.fits):
            for train, llf, _, _ in series:
                m = SARIMAX(train, order=(1, 1, 1), seasonal_order=(1, 1, 1, 7),
                            enforce_stationarity=False, enforce_invertibility=False)
                r = m.fit(disp=False)
                dllf = max(dllf, abs(r.llf - llf))
                fits += 1
        secs = time.perf_counter() - t0
        print(json.dumps({"n": series[0][2], "train": series[0][3], "fits": fits,
                          "ms_per_fit": 1000.0 * secs / fits, "fits_per_s": fits / secs,
                          "max_abs_dllf": dllf}))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
