# shellcheck shell=bash
# Helpers for bench/run sections (bash). Source after tests/integration/lib.sh, which provides the
# temp dir ($SS_TEST_DIR), ss_bg, ss_start_stack and the EXIT trap that stops every process
# started through them. Results go to $BENCH_RESULTS as JSON lines (rendered by bench/render.py).
#   BENCH_RESULTS  results file (required)    BENCH_SECTION  current section name
#   BENCH_QUICK    1 in --quick mode           BENCH_REPS     repetitions per figure
PY=/usr/bin/python3
# shellcheck disable=SC2034 # used by bench/run
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# bench_record json: appends one result object; "section" is added when absent.
bench_record() {
    $PY -c 'import json,sys; o=json.loads(sys.argv[1]); o.setdefault("section", sys.argv[2]); print(json.dumps(o))' \
        "$1" "$BENCH_SECTION" >>"$BENCH_RESULTS"
}

# bench_not_measured figure reason...: records that a figure was not measured, and why.
bench_not_measured() {
    local fig=$1
    shift
    $PY -c 'import json,sys; print(json.dumps({"section": sys.argv[1], "figure": sys.argv[2], "not_measured": sys.argv[3]}))' \
        "$BENCH_SECTION" "$fig" "$*" >>"$BENCH_RESULTS"
    ss_log "not measured: $fig: $*"
}

# bench_missing_bins name...: prints the first executable of $SS_BIN that is missing (status 0),
# or nothing (status 1) when all are there.
bench_missing_bins() {
    local b
    for b in "$@"; do
        if [ ! -x "$SS_BIN/$b" ]; then
            echo "$b"
            return 0
        fi
    done
    return 1
}

# bench_py_has module...: status 0 when /usr/bin/python3 imports every module.
bench_py_has() {
    local m
    for m in "$@"; do
        $PY -c "import $m" 2>/dev/null || return 1
    done
}

# bench_port: a free loopback TCP port.
bench_port() {
    $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# bench_now_ms: wall clock in epoch ms (the clock of Kafka message timestamps).
bench_now_ms() { date +%s%3N; }

# bench_stop pid...: TERM, wait up to 15 s each, then KILL. Only pids this run started.
bench_stop() {
    local pid n
    for pid in "$@"; do
        kill -TERM "$pid" 2>/dev/null || continue
        for ((n = 0; n < 150; n++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}

# bench_start_stack [stack options...]: stops a stack this section started before, then starts
# a fresh one (ss_start_stack waits for the env file, so the old one must be gone first).
bench_start_stack() {
    if [ -n "${SS_STACK_PID:-}" ]; then
        bench_stop "$SS_STACK_PID"
    fi
    rm -f "$SS_TEST_DIR/stack.env" "$SS_TEST_DIR/stack.conf"
    ss_start_stack "$@"
}

# bench_cpu pid: CPU seconds (user + system) the process has used so far.
bench_cpu() {
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / hz }' \
        "/proc/$1/stat" 2>/dev/null || echo 0
}

# bench_rss_kb pid [VmRSS|VmHWM]: resident set size (or its peak) in KiB.
bench_rss_kb() {
    awk -v k="${2:-VmRSS}:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0
}

# bench_redis_cpu: CPU seconds redis-server has used (INFO cpu, main thread + others).
bench_redis_cpu() {
    ss_redis_cli info cpu | awk -F: '/^used_cpu_(user|sys):/ { s += $2 } END { printf "%.3f\n", s }'
}

# bench_redis_info field: one INFO field (e.g. used_memory).
bench_redis_info() {
    ss_redis_cli info all | tr -d '\r' | awk -F: -v f="$1" '$1 == f { print $2 }'
}

# bench_wait_ready timeout_s port...: waits until every service answers /readyz with 200.
bench_wait_ready() {
    local t=$1 p
    shift
    for p in "$@"; do
        ss_wait_for "$t" curl -sf -o /dev/null "http://127.0.0.1:$p/readyz" || return 1
    done
}

# bench_assigned log...: partitions currently assigned according to the consumers' logs
# (sum of "assigned [(incremental)] N" minus "revoked N" / "lost N"), one number per log.
bench_assigned() {
    local f
    for f in "$@"; do
        awk '/assigned \(incremental\) [0-9]+ partitions/ { for (i = 1; i <= NF; i++) if ($i == "(incremental)") a += $(i + 1) }
             /(revoked|lost) [0-9]+ partitions/ { for (i = 1; i <= NF; i++) if ($i == "revoked" || $i == "lost") a -= $(i + 1) }
             /assigned [0-9]+ partitions/ { for (i = 1; i <= NF; i++) if ($i == "assigned" && $(i + 1) ~ /^[0-9]+$/) a += $(i + 1) }
             END { print a + 0 }' "$f"
    done
}

# bench_wait_assigned timeout_s total log...: waits until the logs' assignments add up to
# `total` with every consumer owning at least one partition, and stay so for 2 s (the mock's
# rebalances come in rounds).
bench_wait_assigned() {
    local t=$1 total=$2 deadline stable=0 sum ok n
    shift 2
    deadline=$((SECONDS + t))
    while [ "$SECONDS" -lt "$deadline" ]; do
        sum=0
        ok=1
        for n in $(bench_assigned "$@"); do
            sum=$((sum + n))
            [ "$n" -gt 0 ] || ok=0
        done
        if [ "$ok" = 1 ] && [ "$sum" = "$total" ]; then
            stable=$((stable + 1))
            [ "$stable" -ge 10 ] && return 0
        else
            stable=0
        fi
        sleep 0.2
    done
    return 1
}

# bench_gen_events file: the "N delivered" count from streamscore-gen / -replay output.
bench_delivered() {
    grep -Eo '[0-9]+ delivered' "$1" | tail -n 1 | awk '{ print $1 }'
}
