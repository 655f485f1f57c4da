#!/usr/bin/env bash
# integration.schemareg: ss_schemareg against a fake Confluent Schema Registry
# (fake_registry.py on a loopback ephemeral port), through streamscore-schemareg:
# registration of every manifest schema under <topic>-value (ids, idempotence, lookup-only mode),
# content type and basic auth, fetch by id (text verbatim, 404, non-Avro), the fetch hook of
# ss_avro with its positive and negative caches, 5xx and unreachable registry -> retriable (75),
# 409 for an incompatible new version, a second URL taking over.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
TOOL=$SS_BIN/streamscore-schemareg
[ -x "$TOOL" ] || ss_fail "'$TOOL' not built"
D=$SS_TEST_DIR

cat >"$D/ping.avsc" <<'EOF'
{"type":"record","name":"Ping","namespace":"t","fields":[{"name":"n","type":"long"},{"name":"s","type":"string"}]}
EOF
echo 'syntax = "proto3"; message M { int32 x = 1; }' >"$D/m.proto"
# id 42 = Ping {n: 5, s: "hi"}: magic 0, id 0x2a, zigzag(5) = 0x0a, len 2 = 0x04, "hi"
PING=000000002a0a046869

ss_bg registry "$PY" "$SS_SOURCE_DIR/tests/integration/fake_registry.py" --port-file "$D/port" \
    --auth ss:pw --preload "42:$D/ping.avsc" --preload "43:$D/m.proto:PROTOBUF"
ss_wait_for 10 test -s "$D/port" || ss_fail "fake registry did not start"
PORT=$(cat "$D/port")
URL=http://127.0.0.1:$PORT
SR=(--schema.registry.url "$URL" --schema.registry.basic.auth.user.info ss:pw
    --schema.registry.timeout.ms 3000)

# run NAME ARGS...: runs the tool, stdout/stderr to $D/NAME.out/.err, sets RC
run() {
    local name=$1
    shift
    set +e
    "$TOOL" "$@" >"$D/$name.out" 2>"$D/$name.err"
    RC=$?
    set -e
}
expect_rc() { [ "$RC" -eq "$1" ] || ss_fail "$2: exit $RC, expected $1: $(cat "$D/$2.err")"; }
expect_err() { grep -q -- "$2" "$D/$1.err" || ss_fail "$1: stderr lacks '$2': $(cat "$D/$1.err")"; }
stat_of() { # stat_of "GET /schemas/ids/42": request count seen by the fake
    curl -sS "$URL/_stats" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["requests"].get(sys.argv[1], 0))' "$1"
}

ss_log "register every manifest schema on a fresh registry: ids equal the manifest's"
run reg1 "${SR[@]}" --require.manifest.ids register
expect_rc 0 reg1
cat >"$D/want" <<'EOF'
transactions-value 1
transactions.dlq-value 2
customer-features-value 3
churn-scores-value 4
recommendations-value 5
demand-forecasts-value 6
drift-alerts-value 7
EOF
diff -u "$D/want" "$D/reg1.out" || ss_fail "register output differs"

ss_log "registering again is idempotent; lookup-only finds the same ids"
run reg2 "${SR[@]}" register
expect_rc 0 reg2
diff -u "$D/want" "$D/reg2.out" || ss_fail "second register differs"
[ "$(stat_of "POST /subjects/transactions-value/versions")" = 2 ] || ss_fail "expected 2 registrations"
run look "${SR[@]}" --schema.registry.auto.register=false register
expect_rc 0 look
diff -u "$D/want" "$D/look.out" || ss_fail "lookup-only differs"
[ "$(stat_of "POST /subjects/transactions-value")" = 1 ] || ss_fail "expected 1 lookup"

ss_log "the registered text is the .avsc verbatim"
run get1 "${SR[@]}" get 1
expect_rc 0 get1
"$PY" - "$D/get1.out" "$SS_SOURCE_DIR/schemas/Transaction.avsc" <<'EOF' || ss_fail "schema 1 is not Transaction.avsc verbatim"
import sys
got = open(sys.argv[1]).read()[:-1]  # the tool adds one newline
want = open(sys.argv[2]).read()
sys.exit(0 if got == want else 1)
EOF

ss_log "404 and non-Avro schemas"
run get404 "${SR[@]}" get 999
expect_rc 4 get404
expect_err get404 "HTTP 404: Schema 999 not found (error_code 40403)"
run get43 "${SR[@]}" get 43
expect_rc 4 get43
expect_err get43 "schema id 43 is PROTOBUF, not AVRO"

ss_log "credentials: none -> 401 (fatal, exit 1)"
run noauth --schema.registry.url "$URL" get 1
expect_rc 1 noauth
expect_err noauth "HTTP 401"

ss_log "decode fetches an unknown writer id once (cached), unknown ids once per TTL"
run dec "${SR[@]}" decode $PING $PING
expect_rc 0 dec
[ "$(grep -c '^{"n": *5, *"s": *"hi"}$' "$D/dec.out")" = 2 ] || ss_fail "decode output: $(cat "$D/dec.out")"
[ "$(stat_of "GET /schemas/ids/42")" = 1 ] || ss_fail "schema 42 fetched more than once"
run dec404 "${SR[@]}" decode 00000003e70a 00000003e70a
expect_rc 4 dec404
expect_err dec404 "Schema 999 not found"
expect_err dec404 "unknown to the registry (cached)"
[ "$(stat_of "GET /schemas/ids/999")" = 2 ] || ss_fail "999: expected 1 fetch by 'get' + 1 by decode"
run dec43 "${SR[@]}" decode 000000002b00
expect_rc 4 dec43
expect_err dec43 "not AVRO"

ss_log "5xx and an unreachable registry are retriable (exit 75)"
curl -sS -X POST "$URL/_fail?status=503&count=1" >/dev/null
run f503 "${SR[@]}" get 1
expect_rc 75 f503
expect_err f503 "HTTP 503"
run down --schema.registry.url http://127.0.0.1:1 --schema.registry.timeout.ms 2000 decode $PING
expect_rc 75 down
expect_err down "schema registry 'http://127.0.0.1:1' unreachable"
curl -sS -X POST "$URL/_fail?status=503&count=1" >/dev/null
run dec503 "${SR[@]}" decode 000000002c00
expect_rc 75 dec503

ss_log "a second URL takes over when the first is down"
run two --schema.registry.url "http://127.0.0.1:1, $URL/" --schema.registry.basic.auth.user.info ss:pw get 1
expect_rc 0 two

ss_log "BACKWARD: a new Transaction field without default -> 409; with a default -> new id"
mkdir -p "$D/s1" "$D/s2"
cp "$SS_SOURCE_DIR"/schemas/*.avsc "$SS_SOURCE_DIR/schemas/manifest" "$D/s1/"
mkdir -p "$D/s1/testdata" && cp "$SS_SOURCE_DIR"/schemas/testdata/*.avsc "$D/s1/testdata/"
cp -r "$D/s1/." "$D/s2/"
"$PY" - "$D/s1/Transaction.avsc" "$D/s2/Transaction.avsc" <<'EOF'
import json, sys
for path, field in ((sys.argv[1], {"name": "channel", "type": "string"}),
                    (sys.argv[2], {"name": "channel", "type": "string", "default": "store"})):
    s = json.load(open(path))
    s["fields"].append(field)
    json.dump(s, open(path, "w"), indent=2)
EOF
run inc "${SR[@]}" --schemas.dir "$D/s1" register
expect_rc 1 inc
expect_err inc "register subject 'transactions-value'"
expect_err inc "HTTP 409"
run comp "${SR[@]}" --schemas.dir "$D/s2" --require.manifest.ids register
expect_rc 3 comp
grep -q '^transactions-value 8 (manifest id differs)$' "$D/comp.out" || ss_fail "v3 id: $(cat "$D/comp.out")"
ss_log "PASS"
