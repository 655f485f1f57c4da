#!/usr/bin/env bash
# integration.schemareg_services: the services and tools with a Schema Registry
# (schema.registry.url): fake_registry.py assigning ids from 1001, so they differ from the
# manifest's 1..7. streamscore-replay -> streamscore-features -> streamscore-scorer on renamed
# topics (txn-sr, txn-sr.dlq, features-sr, scores-sr). Asserts:
# - lookup-only mode (schema.registry.auto.register=false) fails on an empty registry naming the
#   subject, registers nothing, and works once the subject is registered (by
#   `streamscore-schemareg register` for the default topic names, by the services for ours);
# - every executable registers its schemas under TopicNameStrategy subjects with the deployed
#   topic names ("<topic>-value"), the renamed ones included;
# - every message produced (transactions, CustomerFeatures, churn scores, dead letters) carries
#   the REGISTRY's id of its subject in bytes 1-4 of the value, never a manifest id;
# - consumers decode by registry id: features applies every replayed order, the scorer scores
#   every CustomerFeatures event;
# - events framed with an id the registry does not know (4242 twice and the manifest's
#   Transaction id 1 to features, 4343 to the scorer) are dead-lettered as UNKNOWN_SCHEMA with
#   reason 'unknown schema id N', each id fetched from the registry once;
# - streamscore-tail decodes the dead letters with the writer schema fetched by id (once);
# - SIGTERM: features and scorer exit 0.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
B=$SS_BIN
D=$SS_TEST_DIR
TT=txn-sr
DT=txn-sr.dlq
FT=features-sr
ST=scores-sr
for tool in curl kcat jq; do
    command -v "$tool" >/dev/null || ss_fail "'$tool' not found (scripts/setup)"
done

ss_start_stack --redis-appendonly false --partitions "$TT=3,$DT=3,$FT=3,$ST=3"
C=$SS_STACK_CONF

ss_bg registry "$PY" "$SS_SOURCE_DIR/tests/integration/fake_registry.py" --port-file "$D/port" \
    --first-id 1001
ss_wait_for 10 test -s "$D/port" || ss_fail "fake registry did not start"
URL=http://127.0.0.1:$(cat "$D/port")
SR=(--schema.registry.url "$URL" --schema.registry.timeout.ms 3000)
# The mock broker answers an empty fetch only after fetch.wait.max.ms (docs/operations.md).
FAST=(-X fetch.wait.max.ms=10)

free_port() {
    $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# subject_id SUBJECT: the registry id of the subject's latest version
subject_id() {
    curl -sfS "$URL/subjects/$1/versions/latest" | jq -er .id
}
# requests "GET /schemas/ids/42": how often the fake registry saw that request
requests() {
    curl -sfS "$URL/_stats" | jq -r --arg k "$1" '.requests[$k] // 0'
}
# metric PORT SERIES: the value of a series (0 if absent)
metric() {
    curl -s "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1 == n { v = $2 } END { print v + 0 }'
}
# metric_is PORT SERIES VALUE: true when the series has exactly that value
metric_is() { [ "$(metric "$1" "$2")" = "$3" ]; }
# raw_ids TOPIC: reads TOPIC from the beginning with kcat (all partitions, no group) and prints
# "<schema id> <count>" per distinct id in bytes 1-4 of the values (-1: not framed), sorted.
raw_ids() {
    kcat -C -b "$BROKERS" "${FAST[@]}" -t "$1" -e -q -f '%R%s' | $PY -c '
import collections, sys
d, i, c = sys.stdin.buffer.read(), 0, collections.Counter()
while i < len(d):
    n = int.from_bytes(d[i:i + 4], "big", signed=True)
    i += 4
    v = d[i:i + max(n, 0)]
    i += max(n, 0)
    c[int.from_bytes(v[1:5], "big") if len(v) >= 5 and v[0] == 0 else -1] += 1
for k in sorted(c):
    print(k, c[k])'
}
# ids_are TOPIC WANT: true when raw_ids TOPIC prints exactly WANT (lines joined by ", ")
ids_are() {
    raw_ids "$1" >"$D/ids.$1" || return 1
    [ "$(paste -sd, "$D/ids.$1" | sed 's/,/, /g')" = "$2" ]
}
# lookup_replay NAME TOPIC: replay 5 events to TOPIC in lookup-only mode; sets RC
lookup_replay() {
    set +e
    "$B/streamscore-replay" -c "$C" "${SR[@]}" --schema.registry.auto.register false \
        --topic.transactions "$2" --limit 5 "$D/gen.csv" >"$D/$1.out" 2>"$D/$1.err"
    RC=$?
    set -e
}

ss_log "history and a churn model"
"$B/streamscore-gen" --out "$D/gen.csv" --customers 60 --days 300 --seed 3 2>"$D/gen.log" ||
    ss_fail "gen failed"
"$B/streamscore-train" --format native --out "$D/model" --version sr-v1 "$D/gen.csv" \
    >"$D/train.out" 2>"$D/train.log" || ss_fail "train failed"

ss_log "lookup-only on an empty registry fails with the subject and registers nothing"
lookup_replay look1 "$TT"
[ "$RC" -ne 0 ] || ss_fail "lookup-only replay on an empty registry succeeded"
grep -q "look up subject '$TT-value'.*HTTP 404" "$D/look1.err" ||
    ss_fail "lookup error lacks the subject: $(cat "$D/look1.err")"
[ "$(requests "POST /subjects/$TT-value")" = 1 ] || ss_fail "lookup-only made no lookup"
subjects=$(curl -sfS "$URL/subjects")
[ "$subjects" = "[]" ] || ss_fail "lookup-only registered: $subjects"

ss_log "streamscore-schemareg register: the default subjects, ids from 1001"
"$B/streamscore-schemareg" "${SR[@]}" register >"$D/reg.out" 2>"$D/reg.err" ||
    ss_fail "streamscore-schemareg register failed: $(cat "$D/reg.err")"
cat >"$D/reg.want" <<'EOF'
transactions-value 1001 (manifest id differs)
transactions.dlq-value 1002 (manifest id differs)
customer-features-value 1003 (manifest id differs)
churn-scores-value 1004 (manifest id differs)
recommendations-value 1005 (manifest id differs)
demand-forecasts-value 1006 (manifest id differs)
drift-alerts-value 1007 (manifest id differs)
EOF
diff -u "$D/reg.want" "$D/reg.out" || ss_fail "streamscore-schemareg register output differs"
ss_log "lookup-only now works for 'transactions', still fails for '$TT' (subject per topic)"
lookup_replay look2 transactions
[ "$RC" -eq 0 ] || ss_fail "lookup-only replay to 'transactions' failed: $(cat "$D/look2.err")"
ss_wait_for 10 ids_are transactions "1001 5" ||
    ss_fail "lookup-only transactions framed with: $(cat "$D/ids.transactions")"
lookup_replay look3 "$TT"
[ "$RC" -ne 0 ] || ss_fail "lookup-only replay to unregistered '$TT' succeeded"
grep -q "look up subject '$TT-value'" "$D/look3.err" || ss_fail "look3: $(cat "$D/look3.err")"

ss_log "features and scorer with the registry (they join their groups meanwhile)"
FPORT=$(free_port)
SPORT=$(free_port)
ss_bg features "$B/streamscore-features" -c "$C" "${FAST[@]}" "${SR[@]}" \
    --topic.transactions "$TT" --topic.dlq "$DT" --topic.features "$FT" --group.id sr-features \
    --redis.prefix sr: --session.timeout.ms 6000 --metrics.port "$FPORT"
FPID=$SS_LAST_PID
ss_bg scorer "$B/streamscore-scorer" -c "$C" "${FAST[@]}" "${SR[@]}" --topic.features "$FT" \
    --topic.scores "$ST" --topic.dlq "$DT" --group.id sr-scorer --model.path "$D/model" \
    --session.timeout.ms 6000 --metrics.port "$SPORT" --replay false
SPID=$SS_LAST_PID

ss_log "replay registers '$TT-value' and frames with the registry's id"
"$B/streamscore-replay" -c "$C" "${SR[@]}" --topic.transactions "$TT" "$D/gen.csv" \
    >"$D/replay.out" 2>"$D/replay.log" || ss_fail "replay failed"
ORDERS=$(awk '$1 == "events" && $3 == "produced," { print $2 }' "$D/replay.out")
ANON=$(sed -n 's/^orders .*anonymous \([0-9]*\))$/\1/p' "$D/replay.out")
if [ -z "$ORDERS" ] || [ "$ORDERS" -le 1000 ] || [ -z "$ANON" ]; then
    ss_fail "replay output: $(cat "$D/replay.out")"
fi
FEATS=$((ORDERS - ANON)) # one CustomerFeatures event per customer order
TXN_ID=$(subject_id "$TT-value")
[ "$TXN_ID" -ge 1001 ] || ss_fail "registry id of $TT-value: $TXN_ID"
ss_wait_for 10 ids_are "$TT" "$TXN_ID $ORDERS" ||
    ss_fail "transaction ids on $TT: $(cat "$D/ids.$TT"), want $TXN_ID x $ORDERS"

F_PRODUCED=streamscore_features_events_produced_total
F_APPLIED=streamscore_features_orders_applied_total
F_DLQ=streamscore_features_dead_letters_total
S_SCORED='streamscore_churn_events_total{result="scored"}'
S_DLQ='streamscore_churn_events_total{result="dead_letter"}'
ss_wait_for 60 metric_is "$FPORT" $F_PRODUCED "$FEATS" ||
    ss_fail "features produced $(metric "$FPORT" $F_PRODUCED) of $FEATS CustomerFeatures"
ss_wait_for 10 metric_is "$FPORT" $F_APPLIED "$ORDERS" ||
    ss_fail "features applied $(metric "$FPORT" $F_APPLIED) of $ORDERS orders"
metric_is "$FPORT" $F_DLQ 0 || ss_fail "features dead-lettered registry-framed orders"
ss_wait_for 60 metric_is "$SPORT" "$S_SCORED" "$FEATS" ||
    ss_fail "scorer scored $(metric "$SPORT" "$S_SCORED") of $FEATS events"

FEAT_ID=$(subject_id "$FT-value")
SCORE_ID=$(subject_id "$ST-value")
DLQ_ID=$(subject_id "$DT-value")
for id in "$FEAT_ID" "$SCORE_ID" "$DLQ_ID"; do
    [ "$id" -ge 1001 ] || ss_fail "registry ids $FEAT_ID $SCORE_ID $DLQ_ID, expected >= 1001"
done
ss_wait_for 10 ids_are "$FT" "$FEAT_ID $FEATS" ||
    ss_fail "CustomerFeatures ids on $FT: $(cat "$D/ids.$FT"), want $FEAT_ID x $FEATS"
# event scores (plus any inactivity re-scores): all with the ChurnScore id
scores_ok() {
    raw_ids "$ST" >"$D/ids.$ST" || return 1
    awk -v id="$SCORE_ID" -v min="$FEATS" '$1 == id && $2 >= min {ok = 1}
        END {exit !(ok && NR == 1)}' "$D/ids.$ST"
}
ss_wait_for 10 scores_ok ||
    ss_fail "score ids on $ST: $(cat "$D/ids.$ST"), want $SCORE_ID x >= $FEATS"
ss_log "ids: transactions $TXN_ID x $ORDERS, features $FEAT_ID x $FEATS, scores $(cat "$D/ids.$ST")"

ss_log "unknown ids go to the DLQ as UNKNOWN_SCHEMA (each id fetched once)"
# kcat -P: key TAB value per line; the value is magic byte, id, and a body that does not matter
# (4242 = 0x1092, 4343 = 0x10f7)
{
    printf 'bad-4242-a\t\x00\x00\x00\x10\x92\x08junk\n'
    printf 'bad-4242-b\t\x00\x00\x00\x10\x92\x08junk\n'
    printf 'bad-manifest-1\t\x00\x00\x00\x00\x01\x08junk\n'
} | kcat -b "$BROKERS" -P -t "$TT" -K '\t' || ss_fail "kcat could not produce to $TT"
printf 'bad-4343\t\x00\x00\x00\x10\xf7\x08junk\n' | kcat -b "$BROKERS" -P -t "$FT" -K '\t' ||
    ss_fail "kcat could not produce to $FT"
ss_wait_for 30 metric_is "$FPORT" $F_DLQ 3 ||
    ss_fail "features dead-lettered $(metric "$FPORT" $F_DLQ) of 3"
ss_wait_for 30 metric_is "$SPORT" "$S_DLQ" 1 ||
    ss_fail "scorer did not dead-letter the CustomerFeatures framed with 4343"
ss_wait_for 10 ids_are "$DT" "$DLQ_ID 4" ||
    ss_fail "dead letter ids on $DT: $(cat "$D/ids.$DT"), want $DLQ_ID x 4"
for id in 4242 1 4343; do
    [ "$(requests "GET /schemas/ids/$id")" = 1 ] ||
        ss_fail "id $id fetched $(requests "GET /schemas/ids/$id") times, want 1"
done
[ "$(requests "GET /schemas/ids/$DLQ_ID")" = 0 ] ||
    ss_fail "a service fetched the DeadLetter schema it registered"

ss_log "streamscore-tail decodes the dead letters with the registry"
"$B/streamscore-tail" -c "$C" "${SR[@]}" --count 4 --timeout $((30 * SS_TIMEOUT_MULT)) "$DT" \
    >"$D/dlq.jsonl" 2>"$D/tail.log" || ss_fail "tail of $DT failed"
n=$(jq -e '. as $e | select(.value.error_code == "UNKNOWN_SCHEMA"
        and .headers["dlq.error_code"] == "UNKNOWN_SCHEMA"
        and (.value.reason | startswith("unknown schema id " +
            ({"bad-4242-a": "4242", "bad-4242-b": "4242", "bad-manifest-1": "1",
              "bad-4343": "4343"}[$e.key]) + ":"))
        and .value.source_topic == (if .key == "bad-4343" then "'"$FT"'" else "'"$TT"'" end)
        and .value.service == (if .key == "bad-4343" then "scorer" else "features" end))' \
    "$D/dlq.jsonl" | jq -s 'map(.key) | unique | length')
[ "$n" -eq 4 ] ||
    ss_fail "only $n of 4 dead letters are UNKNOWN_SCHEMA as expected: $(cat "$D/dlq.jsonl")"
n=$(requests "GET /schemas/ids/$DLQ_ID")
[ "$n" = 1 ] || ss_fail "tail fetched the DeadLetter schema $n times, want 1"

ss_log "subjects: '<deployed topic>-value', registered by every executable that declares the topic"
# tool: the 7 defaults; replay: $TT + 6 defaults; features: $TT $DT $FT + 4 defaults;
# scorer: $FT $ST $DT + 4 defaults (transactions, recommendations, forecasts, alerts)
curl -sfS "$URL/_stats" | jq -r '.requests | to_entries[] |
    select(.key | test("^POST /subjects/[^/]+/versions$")) |
    "\(.key | ltrimstr("POST /subjects/") | rtrimstr("/versions")) \(.value)"' | sort >"$D/subjects"
sort >"$D/subjects.want" <<EOF
$TT-value 2
$DT-value 2
$FT-value 2
$ST-value 1
transactions-value 2
transactions.dlq-value 2
customer-features-value 2
churn-scores-value 3
recommendations-value 4
demand-forecasts-value 4
drift-alerts-value 4
EOF
diff -u "$D/subjects.want" "$D/subjects" || ss_fail "registrations per subject differ"

ss_log "orderly stop: SIGTERM, exit 0"
kill -TERM "$SPID" "$FPID"
deadline=$((SECONDS + 10 * SS_TIMEOUT_MULT))
for pid in "$SPID" "$FPID"; do
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && ss_fail "pid $pid still running 10 s after SIGTERM"
    rc=0
    wait "$pid" || rc=$?
    [ "$rc" = 0 ] || ss_fail "pid $pid exited with $rc after SIGTERM"
done

ss_log "lookup-only works for '$TT' now that the services registered it"
lookup_replay look4 "$TT"
[ "$RC" -eq 0 ] || ss_fail "lookup-only replay to '$TT' failed: $(cat "$D/look4.err")"
[ "$(requests "POST /subjects/$TT-value")" = 3 ] || ss_fail "lookup-only replay made no lookup"
[ "$(requests "POST /subjects/$TT-value/versions")" = 2 ] || ss_fail "lookup-only replay registered"
ss_wait_for 10 ids_are "$TT" "1 1, $TXN_ID $((ORDERS + 5)), 4242 2" ||
    ss_fail "transaction ids on $TT: $(cat "$D/ids.$TT")"
ss_log "PASS"
