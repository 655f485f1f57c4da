#!/usr/bin/env bash
# bench/storeitem.sh: the 500-pair store-item run (tests/integration/test_heavy_storeitem.sh:
# replay -> streamscore-features -> streamscore-forecaster backfill, fast mode, 2 threads) as a
# benchmark figure. Prints one JSON object: pairs, fallbacks, holdout MAE of SARIMA and of the
# seasonal naive (mean, median), pairs where SARIMA wins, and the seconds of features and backfill.
#   SS_BIN=build/bin SS_SHARED_DIR=../shared bench/storeitem.sh [days]
# Exit 3 (and no output) when the data is absent.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${SS_BIN:?SS_BIN must point at the executables}"
export SS_SHARED_DIR=${SS_SHARED_DIR:-$ROOT/../shared} SS_SOURCE_DIR=$ROOT
export SS_TIMEOUT_MULT=${SS_TIMEOUT_MULT:-1} SS_STOREITEM_DAYS=${1:-730}
[ -f "$SS_SHARED_DIR/data/store_item_sales.csv.gz" ] || exit 3
out=$(SS_TEST_NAME=bench-storeitem bash "$ROOT/tests/integration/test_heavy_storeitem.sh")
/usr/bin/python3 - "$out" <<'PY'
import json, sys
o = {}
for line in sys.argv[1].splitlines():
    if line.startswith("SUMMARY_JSON ") or line.startswith("SUMMARY_TIMES "):
        o.update(json.loads(line.split(" ", 1)[1]))
if "pairs" not in o:
    sys.exit("no summary from the store-item run")
print(json.dumps(o))
PY
