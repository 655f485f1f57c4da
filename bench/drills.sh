#!/usr/bin/env bash
# Long forms of the fault drills: runs every process-kill, outage, rebalance, broker-error and
# hostile-input drill of tests/integration/ several times with fresh random seeds and more kills
# than CI uses, and prints a Markdown table (drill, rounds passed, seconds per round, seeds of any
# failure) for docs/reliability.md.
#   bench/drills.sh [--rounds N] [--kills N] [--only a,b] [--bin DIR] [--out FILE]
# Defaults: 3 rounds, 15 kills for the crash drills (CI: 5), build/bin, table on stdout.
# A failed round keeps its log in $TMPDIR/ss-drill-<name>-<round>.log and the run exits 1.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=3 kills=15 only="" bin="$root/build/bin" out=""
while [ $# -gt 0 ]; do
    case "$1" in
    --rounds) rounds=$2; shift ;;
    --kills) kills=$2; shift ;;
    --only) only=$2; shift ;;
    --bin) bin=$2; shift ;;
    --out) out=$2; shift ;;
    -h | --help) sed -n 2,8p "$0"; exit 0 ;;
    *) echo "drills: unknown option '$1'" >&2; exit 2 ;;
    esac
    shift
done
[ -x "$bin/streamscore-features" ] || { echo "drills: no build in $bin" >&2; exit 2; }
export SS_BIN=$bin SS_SOURCE_DIR=$root SS_SHARED_DIR=${SS_SHARED_DIR:-$root/../shared}
export SS_TIMEOUT_MULT=${SS_TIMEOUT_MULT:-2} SS_CRASH_KILLS=$kills
drills="crash_features crash_scorer crash_forecaster zombie_features rebalance_features redis_outage broker_errors hostile"
[ -n "$only" ] && drills=${only//,/ }
table="| drill | rounds passed | seconds per round (min-max) | failed seeds |
|---|---|---|---|"
status=0
for d in $drills; do
    script="$root/tests/integration/test_$d.sh"
    [ -f "$script" ] || { echo "drills: no $script" >&2; exit 2; }
    pass=0 tmin="" tmax="" failed=""
    for ((r = 1; r <= rounds; r++)); do
        seed=$((RANDOM * 32768 + RANDOM))
        log="${TMPDIR:-/tmp}/ss-drill-$d-$r.log"
        t0=$(date +%s.%N)
        res=ok
        if SS_CRASH_SEED=$seed bash "$script" >"$log" 2>&1; then
            pass=$((pass + 1))
            rm -f "$log"
        else
            failed="$failed $seed"
            res="FAILED (seed $seed, log $log)"
            status=1
        fi
        t=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
        tmin=$([ -z "$tmin" ] || [ "$t" -lt "$tmin" ] && echo "$t" || echo "$tmin")
        tmax=$([ -z "$tmax" ] || [ "$t" -gt "$tmax" ] && echo "$t" || echo "$tmax")
        echo "drills: $d round $r/$rounds: $res in ${t}s" >&2
    done
    table="$table
| \`$d\` | $pass / $rounds | $tmin-$tmax | ${failed:- -} |"
done
if [ -n "$out" ]; then echo "$table" >"$out"; else echo "$table"; fi
exit $status
