#!/usr/bin/env bash
# Scorer benchmark: one million synthetic customers loaded into the scorer state, three
# inactivity sweeps timed, then 20,000 lookup API requests over loopback HTTP (p50/p99).
# Usage: bench/scorer_bench.sh [BUILD_DIR] [CUSTOMERS]   (model: trained on the UCI file)
# Results are recorded in docs/churn.md ("Inactivity re-scoring").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
customers=${2:-1000000}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/scorer-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
data=$root/../shared/data/online_retail.csv.gz
if [ -f "$data" ]; then
    "$build/bin/streamscore-train" --out "$tmp/model" "$data" >/dev/null 2>&1
else
    "$build/bin/streamscore-gen" --out "$tmp/gen.csv" --customers 400 --days 300 >/dev/null 2>&1
    "$build/bin/streamscore-train" --format native --out "$tmp/model" "$tmp/gen.csv" >/dev/null 2>&1
fi
/usr/bin/time -f "max RSS %M KiB, %e s wall" "$build/bin/streamscore-scorertool" bench \
    --model.path "$tmp/model" --customers "$customers" --days 3 --lookups 20000 --log.level warning
