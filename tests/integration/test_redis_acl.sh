#!/usr/bin/env bash
# Redis AUTH with an ACL user limited to the key prefix and the commands the services run
# (scripts/redis-acl), and secrets handling:
#  1. a redis-server whose users are: the streamscore rule from scripts/redis-acl, an admin for
#     the test's own inspection, and `default` switched off;
#  2. what the rule refuses: no AUTH, keys outside the prefix (direct and from a Lua script),
#     FLUSHALL, KEYS, CONFIG; what it allows: hash writes and scripts under the prefix;
#  3. streamscore-features authenticated as that user (password from an @file) applies valid
#     orders (exact, compared with rfm_reference.py) and dead-letters the hostile corpus;
#     with redis.prefix outside the rule it stops with the NOPERM error instead of writing;
#     with a wrong password it exits with the AUTH error;
#  4. the password never appears in --dump-config (file, environment and command-line forms, and
#     as a librdkafka -X sasl.password) or in any log.
# If streamscore-features has no `redis.user` key yet (ss_redis AUTH with one argument), the rule
# is installed on the `default` user instead (Redis 6+ AUTH <password> authenticates `default`).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rel_lib.sh"

D=$SS_TEST_DIR
PW=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
printf '%s\n' "$PW" >"$D/redis.pw"
chmod 600 "$D/redis.pw"
ADMIN_PW=admin-$$

"$SS_BIN/streamscore-features" --help >"$D/help.txt"
if grep -q -- '--redis.user=' "$D/help.txt"; then
    ACL_USER=streamscore
    USER_ARGS=(--redis.user streamscore)
    DEFAULT_LINE="user default off"
else
    ACL_USER=default
    USER_ARGS=()
    DEFAULT_LINE=
    ss_log "streamscore-features has no redis.user: the rule goes on the default user"
fi

ss_start_stack --no-redis --partitions "acl-in=1"
RPORT=$(rel_free_port)
{
    echo "port $RPORT"
    echo "bind 127.0.0.1"
    echo "dir $D"
    echo 'save ""'
    echo "appendonly no"
    echo "user admin on >$ADMIN_PW ~* &* +@all"
    [ -z "$DEFAULT_LINE" ] || echo "$DEFAULT_LINE"
    "$SS_SOURCE_DIR/scripts/redis-acl" --user "$ACL_USER" --prefix ss: --password-file "$D/redis.pw" --aclfile
} >"$D/redis.conf"
grep -qF -- "$PW" "$D/redis.conf" && ss_fail "the ACL rule contains the clear-text password"
ss_bg redis redis-server "$D/redis.conf"
ss_wait_for 20 sh -c "redis-cli -p $RPORT --user admin --pass $ADMIN_PW --no-auth-warning ping | grep -q PONG" ||
    ss_fail "redis-server with the ACL did not start"
admin() { redis-cli -p "$RPORT" --user admin --pass "$ADMIN_PW" --no-auth-warning "$@"; }
app() { redis-cli -p "$RPORT" --user "$ACL_USER" --pass "$PW" --no-auth-warning "$@"; }
expect_err() { # expect_err PATTERN cmd...: the reply must be an error matching PATTERN
    local pat=$1 out
    shift
    out=$("$@" 2>&1) || true
    echo "$out" | grep -qE "$pat" || ss_fail "expected /$pat/ from '$*', got: $out"
}

ss_log "step 2: what the ACL allows and refuses"
expect_err 'NOAUTH|NOPERM' redis-cli -p "$RPORT" set ss:x 1
expect_err 'WRONGPASS' redis-cli -p "$RPORT" --user "$ACL_USER" --pass wrong --no-auth-warning ping
[ "$(app ping)" = PONG ] || ss_fail "the app user cannot PING"
[ "$(app hset 'ss:{c1}:t' a 1)" = 1 ] || ss_fail "the app user cannot write under the prefix"
[ "$(app hget 'ss:{c1}:t' a)" = 1 ] || ss_fail "the app user cannot read under the prefix"
expect_err NOPERM app set other:k 1
expect_err NOPERM app hset 'other:{c1}:t' a 1
expect_err NOPERM app get other:k
expect_err "NOPERM|can't access" app eval "return redis.call('SET', KEYS[1], '1')" 1 other:k
expect_err "NOPERM|can't access" app eval "return redis.call('SET', 'other:k', '1')" 0
[ "$(app eval "return redis.call('HSET', KEYS[1], 'a', '2')" 1 'ss:{c1}:u')" = 1 ] ||
    ss_fail "the app user cannot run a script under the prefix"
SHA=$(app script load "return 1")
[ "$(app evalsha "$SHA" 0)" = 1 ] || ss_fail "the app user cannot EVALSHA"
# the features service writes as WATCH/MULTI/EXEC transactions (docs/features.md)
printf 'WATCH ss:{c1}:w\nMULTI\nHSET ss:{c1}:w a 1\nEXEC\n' |
    redis-cli -p "$RPORT" --user "$ACL_USER" --pass "$PW" --no-auth-warning \
        >"$D/tx.out" 2>&1
grep -q NOPERM "$D/tx.out" && ss_fail "the app user cannot run a transaction: $(cat "$D/tx.out")"
[ "$(app hget 'ss:{c1}:w' a)" = 1 ] || ss_fail "the transaction did not write: $(cat "$D/tx.out")"
admin del 'ss:{c1}:w' >/dev/null
expect_err NOPERM app flushall
expect_err NOPERM app keys '*'
expect_err NOPERM app config get requirepass
expect_err NOPERM app shutdown nosave
expect_err NOPERM app acl list
[ "$(admin exists other:k)" = 0 ] || ss_fail "a refused write happened"
admin del 'ss:{c1}:t' 'ss:{c1}:u' >/dev/null

C="$D/app.conf"
{
    grep '^brokers=' "$SS_STACK_CONF"
    echo "redis.host=127.0.0.1"
    echo "redis.port=$RPORT"
    echo "redis.password=@$D/redis.pw"
    [ "$ACL_USER" = default ] || echo "redis.user=$ACL_USER"
} >"$C"

ss_log "step 4: secrets are masked"
"$SS_BIN/streamscore-features" -c "$C" "${USER_ARGS[@]}" --dump-config >"$D/dump-file.txt"
grep -q '^redis.password=\*\*\*\*\*\*\*\*$' "$D/dump-file.txt" || ss_fail "redis.password not masked: $(grep redis.password "$D/dump-file.txt")"
SS_FEATURES_REDIS_PASSWORD="$PW" "$SS_BIN/streamscore-features" -c "$SS_STACK_CONF" --dump-config >"$D/dump-env.txt"
grep -q '^redis.password=\*\*\*\*\*\*\*\*$' "$D/dump-env.txt" || ss_fail "environment redis.password not masked"
"$SS_BIN/streamscore-features" -c "$SS_STACK_CONF" --redis.password "$PW" --dump-config >"$D/dump-cli.txt"
grep -q '^redis.password=\*\*\*\*\*\*\*\*$' "$D/dump-cli.txt" || ss_fail "command-line redis.password not masked"
# Kafka secrets pass through -X and are masked the same way (file and literal forms).
"$SS_BIN/streamscore-features" -c "$SS_STACK_CONF" -X security.protocol=SASL_PLAINTEXT \
    -X sasl.mechanism=PLAIN -X sasl.username=app -X "sasl.password=@$D/redis.pw" --dump-config >"$D/dump-x1.txt"
"$SS_BIN/streamscore-features" -c "$SS_STACK_CONF" -X "sasl.password=$PW" --dump-config >"$D/dump-x2.txt"
for f in "$D"/dump-x1.txt "$D"/dump-x2.txt; do
    grep -q '^kafka.sasl.password=\*\*\*\*\*\*\*\*$' "$f" || ss_fail "sasl.password not masked: $(grep sasl "$f")"
done
grep -lF -- "$PW" "$D"/dump-*.txt && ss_fail "--dump-config printed the password"

ss_log "step 3: streamscore-features as the ACL user"
"$SS_BIN/streamscore-hostile" -c "$SS_STACK_CONF" --topic.transactions acl-in --tag acl --valid 200 \
    --valid-out "$D/valid.jsonl" produce >"$D/produce.out" 2>"$D/produce.log" || ss_fail "produce failed"
TOTAL=$(awk '$1 == "messages" { print $2 }' "$D/produce.out")
HOSTILE=$(awk '$1 == "hostile" { print $2 }' "$D/produce.out")
PORT=$(rel_free_port)
ss_bg features "$SS_BIN/streamscore-features" -c "$C" "${USER_ARGS[@]}" --topic.transactions acl-in \
    --group.id acl --session.timeout.ms 6000 --metrics.port "$PORT"
FPID=$SS_LAST_PID
ss_wait_for 60 sh -c "[ \$(curl -s http://127.0.0.1:$PORT/metrics | awk '/^streamscore_features_(orders_applied|orders_duplicate|dead_letters)_total /{s+=\$2} END{print s+0}') -ge $TOTAL ]" ||
    ss_fail "features processed too little"
[ "$(rel_metric "$PORT" streamscore_features_dead_letters_total)" = "$HOSTILE" ] || ss_fail "dead letters != $HOSTILE"
kill -TERM "$FPID"
wait "$FPID" || ss_fail "features exited non-zero on SIGTERM"
[ "$(admin dbsize)" -gt 0 ] || ss_fail "nothing written"
admin --scan --pattern '*' >"$D/keys.txt"
grep -v '^ss:' "$D/keys.txt" >"$D/outside.txt" || true
[ -s "$D/outside.txt" ] && ss_fail "keys outside the prefix: $(head -3 "$D/outside.txt")"
# The dumps authenticate as the ACL user too (C carries the password file).
SS_STACK_CONF="$C" rel_compare ss: "$D/valid.jsonl" "as the ACL user"

ss_log "step 3b: a prefix outside the rule is refused, the service stops"
set +e
"$SS_BIN/streamscore-features" -c "$C" "${USER_ARGS[@]}" --topic.transactions acl-in --group.id acl-other \
    --redis.prefix other: --session.timeout.ms 6000 >"$D/other.out" 2>"$D/other.log" &
OPID=$!
SS_PIDS+=("$OPID")
ss_wait_for 60 sh -c "! kill -0 $OPID" || ss_fail "features kept running with a forbidden prefix"
wait "$OPID"
rc=$?
set -e
[ "$rc" -ne 0 ] || ss_fail "features exited 0 with a forbidden prefix"
grep -qE "NOPERM|can.t access" "$D/other.log" || ss_fail "the ACL error is not reported: $(tail -2 "$D/other.log")"
[ -z "$(admin --scan --pattern 'other:*')" ] || ss_fail "keys written outside the prefix"

ss_log "step 3c: a wrong password is fatal and reported without the secret"
printf 'not-the-password\n' >"$D/wrong.pw"
set +e
"$SS_BIN/streamscore-features" -c "$C" "${USER_ARGS[@]}" --redis.password "@$D/wrong.pw" \
    --group.id acl-wrong >"$D/wrong.out" 2>"$D/wrong.log"
rc=$?
set -e
[ "$rc" -ne 0 ] || ss_fail "features started with a wrong password"
grep -qE 'WRONGPASS|invalid password|AUTH' "$D/wrong.log" || ss_fail "AUTH failure not reported: $(tail -2 "$D/wrong.log")"
grep -q 'not-the-password' "$D/wrong.log" && ss_fail "the wrong password was logged"

for f in "$D"/*.log "$D"/*.out; do
    grep -qF -- "$PW" "$f" && ss_fail "the password appears in $(basename "$f")"
done
ss_log "ok (ACL user: $ACL_USER)"
