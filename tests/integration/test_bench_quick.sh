#!/usr/bin/env bash
# bench/run --quick: the benchmark harness runs end to end on tiny workloads (numbers are not
# checked: speed belongs to bench/, not to tests) and writes a document with every section. A
# missing piece may be reported as "not measured: reason"; a section that crashes fails the run.
. "$(dirname "$0")/lib.sh"

OUT="$SS_TEST_DIR/benchmarks.md"
ss_bg bench "$SS_SOURCE_DIR/bench/run" --quick --bin "$SS_BIN" --out "$OUT"
rc=0
wait "$SS_LAST_PID" || rc=$?
[ "$rc" = 0 ] || ss_fail "bench/run --quick exited $rc: $(grep -E 'FAILED|FAIL:' "$SS_TEST_DIR/bench.log" | tail -n 3)"
[ -s "$OUT" ] || ss_fail "bench/run wrote no $OUT"

# every section, each with a table or an explicit "not measured"
for h in "## Machine and versions" "## Ingest" "## Latency" "## Scaling" "## Forecasting" \
    "## Lookup API" "## Memory"; do
    body=$(awk -v h="$h" 'index($0, h) == 1 { on = 1; next } /^## / { on = 0 } on' "$OUT")
    [ -n "$body" ] || ss_fail "no section '$h' in the output"
    grep -q '^|---' <<<"$body" || grep -qi 'not measured' <<<"$body" ||
        ss_fail "section '$h' has neither a table nor a 'not measured' reason"
done
grep -q 'section failed' "$OUT" && ss_fail "a section failed: $(grep 'section failed' "$OUT")"
# the run is described: machine, versions, commit, date, repetitions
for k in "CPU |" "librdkafka" "redis-server" "gcc" "commit \`" "median (min-max)"; do
    grep -qF "$k" "$OUT" || ss_fail "the output does not record '$k'"
done
# with every piece built, the figures themselves are there
if [ -x "$SS_BIN/streamscore-features" ]; then
    grep -Eq '^\| \*\*streamscore-features\*\* \| [0-9,]+' "$OUT" ||
        ss_fail "no streamscore-features ingest figure"
    grep -Eq '^\| do-nothing consumer \(ceiling\) \| [0-9,]+' "$OUT" || ss_fail "no ceiling figure"
fi
if [ -x "$SS_BIN/streamscore-scorer" ]; then
    grep -q '^Saturation: \*\*' "$OUT" || ss_fail "no saturation figure"
    # measured, or explicitly skipped when a slow (sanitized) build saturates below 1,000/s
    grep -Eq '^\| 1,000/s \| ([0-9,]+ \([0-9,]+\) \| [0-9.,]+ ms|not run: above saturation)' "$OUT" ||
        ss_fail "no latency row at 1,000/s"
fi
ss_log "ok: $(grep -c '^|' "$OUT") table rows, $(grep -c 'not measured' "$OUT") not measured"
