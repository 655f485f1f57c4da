#!/usr/bin/env bash
# streamscore-stack: starts the mock cluster with every topic and a private redis, writes its
# conf/env files, takes a broker down and up on SIGUSR1/SIGUSR2, restarts redis on SIGHUP with
# its data, and cleans everything up (redis gone, temp dir and conf removed) on SIGTERM.
. "$(dirname "$0")/lib.sh"

ss_start_stack --partitions "transactions=8,st-extra=2"
conf=$SS_STACK_CONF

grep -q "^brokers=127.0.0.1:[0-9]*,127.0.0.1:[0-9]*,127.0.0.1:[0-9]*$" "$conf" ||
    ss_fail "bad brokers line in $conf"
grep -qx "redis.host=127.0.0.1" "$conf" || ss_fail "no redis.host in $conf"
grep -qx "redis.port=$REDIS_PORT" "$conf" || ss_fail "no redis.port in $conf"
[ "$(ss_redis_cli ping)" = PONG ] || ss_fail "redis does not answer PING"
grep -q "^ready$" "$SS_TEST_DIR/stack.out" || ss_fail "stack did not print ready"

# Topics and partition counts (defaults, override, added topic).
kcat -L -b "$BROKERS" >"$SS_TEST_DIR/metadata.out" 2>"$SS_TEST_DIR/metadata.log" ||
    ss_fail "kcat -L failed"
for tp in transactions:8 transactions.dlq:3 customer-features:6 churn-scores:6 \
    recommendations:6 demand-forecasts:6 drift-alerts:6 st-extra:2; do
    grep -q "topic \"${tp%%:*}\" with ${tp##*:} partitions" "$SS_TEST_DIR/metadata.out" ||
        ss_fail "topic ${tp%%:*} does not have ${tp##*:} partitions"
done
grep -q " 3 brokers:" "$SS_TEST_DIR/metadata.out" || ss_fail "expected 3 brokers"

# Fault signals are acknowledged in the stack's log.
ss_broker_down
ss_wait_for 10 grep -q "broker 1 down" "$SS_TEST_DIR/stack.log"
ss_broker_up
ss_wait_for 10 grep -q "broker 1 up" "$SS_TEST_DIR/stack.log"

# Redis restart (SIGHUP) keeps the port and the data (appendonly).
ss_redis_cli set st:key hello >/dev/null
old_pid=$SS_REDIS_PID
kill -TERM "$old_pid"
ss_wait_for 10 sh -c "! kill -0 $old_pid 2>/dev/null"
ss_redis_restart
[ "$SS_REDIS_PID" != "$old_pid" ] || ss_fail "redis pid unchanged after restart"
[ "$(ss_redis_cli get st:key)" = hello ] || ss_fail "redis lost data across restart"

# Orderly stop: redis killed, temp dir and conf files removed, exit status 0.
dir=$(sed -n 's/^# pid=.* dir=//p' "$conf")
[ -d "$dir" ] || ss_fail "redis dir '$dir' missing"
kill -TERM "$SS_STACK_PID"
wait "$SS_STACK_PID" || ss_fail "stack exited non-zero on SIGTERM"
! kill -0 "$SS_REDIS_PID" 2>/dev/null || ss_fail "redis still running after stack stop"
[ ! -e "$dir" ] || ss_fail "temp dir $dir not removed"
[ ! -e "$conf" ] || ss_fail "conf $conf not removed"

# Bad options are reported, not crashed on.
if "$SS_BIN/streamscore-stack" --partitions "transactions=0" --no-redis \
    --out "$SS_TEST_DIR/bad.conf" 2>"$SS_TEST_DIR/bad.err"; then
    ss_fail "partitions=0 accepted"
fi
grep -q "partition count must be 1..1000" "$SS_TEST_DIR/bad.err" || ss_fail "unclear error: $(cat "$SS_TEST_DIR/bad.err")"
echo "PASS"
