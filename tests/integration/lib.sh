# shellcheck shell=bash
# Fixture functions for integration tests (bash). Source it first thing:
#   . "$(dirname "$0")/lib.sh"
# It creates a private temp dir ($SS_TEST_DIR) and installs `trap ss_stop_all EXIT`, so every
# process started through ss_bg/ss_start_stack is stopped (by pid) on every exit path, and the
# logs of a failed test are printed. Environment (set by ctest, defaults for manual runs):
#   SS_BIN (build/bin), SS_SOURCE_DIR, SS_TIMEOUT_MULT (scales every wait), SS_SHARED_DIR.
#   SS_KEEP_TMP=1 keeps $SS_TEST_DIR for inspection.

set -euo pipefail

SS_SOURCE_DIR=${SS_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
SS_BIN=${SS_BIN:-$SS_SOURCE_DIR/build/bin}
SS_TIMEOUT_MULT=${SS_TIMEOUT_MULT:-1}
SS_SHARED_DIR=${SS_SHARED_DIR:-$SS_SOURCE_DIR/../shared}
SS_TEST_NAME=$(basename "$0" .sh)
SS_TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ss-it-$SS_TEST_NAME.XXXXXX")
SS_PIDS=()
export SS_BIN SS_SOURCE_DIR SS_TIMEOUT_MULT SS_SHARED_DIR SS_TEST_DIR

# ss_log msg...: a progress line on stderr.
ss_log() { echo "[$SS_TEST_NAME] $*" >&2; }

# ss_fail msg...: fails the test.
ss_fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# ss_skip reason: prints "SKIP: reason" and exits 0. Only for absent ../shared data.
ss_skip() {
    echo "SKIP: $*"
    exit 0
}

# ss_stop_all: the EXIT trap. TERM every process started with ss_bg (last started first), wait
# up to 10 s x SS_TIMEOUT_MULT for each, then KILL; TERM the shell's other background jobs; print
# logs if the test failed; remove the temp dir.
ss_stop_all() {
    local rc=$? i pid n
    set +e
    for ((i = ${#SS_PIDS[@]} - 1; i >= 0; i--)); do
        pid=${SS_PIDS[$i]}
        kill -0 "$pid" 2>/dev/null || continue
        kill -TERM "$pid" 2>/dev/null
        for ((n = 0; n < 100 * SS_TIMEOUT_MULT; n++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "[$SS_TEST_NAME] pid $pid ignored TERM, killing" >&2
            kill -KILL "$pid" 2>/dev/null
        fi
        wait "$pid" 2>/dev/null
    done
    # Background jobs this shell started without ss_bg (e.g. a writer blocked on a fifo).
    for pid in $(jobs -p); do
        kill -TERM "$pid" 2>/dev/null
    done
    for pid in $(jobs -p); do
        wait "$pid" 2>/dev/null
    done
    if [ "$rc" -ne 0 ]; then
        for f in "$SS_TEST_DIR"/*.log "$SS_TEST_DIR"/*.err; do
            [ -f "$f" ] || continue
            echo "----- $(basename "$f") (last 40 lines)" >&2
            tail -n 40 "$f" >&2
        done
    fi
    if [ "${SS_KEEP_TMP:-0}" = 1 ]; then
        echo "[$SS_TEST_NAME] kept $SS_TEST_DIR" >&2
    else
        rm -rf "$SS_TEST_DIR"
    fi
    exit "$rc"
}
trap ss_stop_all EXIT
# A test killed by ctest's timeout (TERM) or ^C still cleans up through the EXIT trap.
trap 'exit 143' TERM
trap 'exit 130' INT

# ss_bg name cmd...: starts cmd in the background with stdout in $SS_TEST_DIR/name.out and
# stderr in $SS_TEST_DIR/name.log; records its pid for ss_stop_all and sets SS_LAST_PID.
ss_bg() {
    local name=$1
    shift
    "$@" >"$SS_TEST_DIR/$name.out" 2>"$SS_TEST_DIR/$name.log" &
    SS_LAST_PID=$!
    SS_PIDS+=("$SS_LAST_PID")
}

# ss_wait_for timeout_s cmd...: runs cmd every 0.1 s until it succeeds; fails (returns 1, with a
# message) after timeout_s x SS_TIMEOUT_MULT seconds.
ss_wait_for() {
    local timeout=$1
    shift
    local deadline=$((SECONDS + timeout * SS_TIMEOUT_MULT))
    until "$@" >/dev/null 2>&1; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "[$SS_TEST_NAME] timed out after $((timeout * SS_TIMEOUT_MULT)) s waiting for: $*" >&2
            return 1
        fi
        sleep 0.1
    done
}

# ss_start_stack [streamscore-stack options...]: starts the local stack (mock Kafka + redis) in
# the background and waits for its conf file. Exports SS_STACK_CONF, SS_STACK_PID, BROKERS,
# REDIS_HOST, REDIS_PORT and SS_REDIS_PID (see docs/operations.md "Local stack").
ss_start_stack() {
    local conf="$SS_TEST_DIR/stack.conf"
    [ -x "$SS_BIN/streamscore-stack" ] || ss_fail "missing $SS_BIN/streamscore-stack (build first)"
    ss_bg stack "$SS_BIN/streamscore-stack" --out "$conf" "$@"
    if ! ss_wait_for 30 test -s "$SS_TEST_DIR/stack.env"; then
        kill -0 "$SS_LAST_PID" 2>/dev/null || ss_fail "streamscore-stack exited early"
        ss_fail "streamscore-stack did not write $conf"
    fi
    # shellcheck disable=SC1091
    . "$SS_TEST_DIR/stack.env"
    export SS_STACK_CONF SS_STACK_PID BROKERS REDIS_HOST REDIS_PORT SS_REDIS_PID
    ss_log "stack up: brokers=$BROKERS redis=127.0.0.1:$REDIS_PORT"
}

# ss_redis_cli args...: redis-cli against the stack's redis.
ss_redis_cli() {
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"
}

# ss_redis_restart: restarts the stack's redis-server (same port and data) and waits until the
# stack has rewritten its env file with the new pid and redis answers PING.
ss_redis_restart() {
    local old=$SS_REDIS_PID env="$SS_TEST_DIR/stack.env"
    kill -HUP "$SS_STACK_PID"
    ss_wait_for 20 sh -c "grep -q '^export SS_REDIS_PID=[1-9]' '$env' &&
        ! grep -qx 'export SS_REDIS_PID=$old' '$env'"
    # shellcheck disable=SC1090
    . "$env"
    ss_wait_for 20 sh -c "redis-cli -h 127.0.0.1 -p $REDIS_PORT ping | grep -q PONG"
}

# ss_broker_down / ss_broker_up: take the stack's fault broker (default 1) down / up.
ss_broker_down() { kill -USR1 "$SS_STACK_PID"; }
ss_broker_up() { kill -USR2 "$SS_STACK_PID"; }

# ss_topic base: a topic name unique to this test run (letters, digits, '-').
ss_topic() { echo "$1-$$-$RANDOM"; }

# ss_stack_ctl COMMAND...: sends each argument as one command line to the running stack's
# control directory (see tools/stack/stack_ctl.h: errors, broker-errors, pending, clear,
# topic-error, rtt, down, up, leader), waits for the answers and prints them ("ok ..." lines).
# Fails (returns 1, answers on stderr) if the stack answers "error: ..." to any line.
ss_stack_ctl() {
    local dir=${SS_STACK_CTL:-$SS_TEST_DIR/stack.ctl} name
    name="c$(date +%s%N)-$$-$RANDOM"
    printf '%s\n' "$@" >"$dir/$name.tmp" && mv "$dir/$name.tmp" "$dir/$name.cmd" ||
        { echo "[$SS_TEST_NAME] cannot write to the stack's control directory $dir" >&2; return 1; }
    ss_wait_for 10 test -e "$dir/$name.out" || return 1
    if grep -q '^error' "$dir/$name.out"; then
        cat "$dir/$name.out" >&2
        rm -f "$dir/$name.out"
        return 1
    fi
    cat "$dir/$name.out"
    rm -f "$dir/$name.out"
}

# ss_broker_errors API COUNT ERR...: the next COUNT requests of type API (Produce, Fetch,
# OffsetCommit, ...; any broker) fail with the given errors in turn (librdkafka names:
# NOT_LEADER_FOR_PARTITION or NOT_LEADER_OR_FOLLOWER, REQUEST_TIMED_OUT, _TRANSPORT for a
# disconnect ...). Cluster-wide: rd_kafka_mock_push_request_errors. A broker that was given
# errors for API with ss_broker_errors_on ignores these (docs/reliability.md).
ss_broker_errors() {
    local api=$1 count=$2
    shift 2
    local IFS=,
    ss_stack_ctl "errors $api $count $*" >/dev/null
}

# ss_broker_errors_on BROKER|all API COUNT ERR[:DELAY_MS]...: the same on one broker (all: on
# each broker), each error with an optional response delay; NO_ERROR:DELAY delays a successful
# response (rd_kafka_mock_broker_push_request_error_rtts). Count them with ss_broker_errors_pending.
ss_broker_errors_on() {
    local broker=$1 api=$2 count=$3
    shift 3
    local IFS=,
    ss_stack_ctl "broker-errors $broker $api $count $*" >/dev/null
}

# ss_broker_errors_pending BROKER|all API: prints how many errors pushed by ss_broker_errors_on
# are not consumed yet (cluster-wide errors cannot be counted in librdkafka 2.0.2).
ss_broker_errors_pending() {
    ss_stack_ctl "pending $1 $2" | sed -n 's/^ok //p'
}
