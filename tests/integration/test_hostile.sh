#!/usr/bin/env bash
# Hostile input: the whole streamscore-hostile corpus (>= 30 kinds of bad events, see its
# manifest) interleaved with valid orders and redeliveries, through streamscore-features on the
# local stack. Asserts:
#  - every bad event is on transactions.dlq exactly once, under its own key (stateful kinds: under
#    their customer's key, found by the order id in the reason), with the expected
#    error_code and a reason containing the expected text; nothing else is dead-lettered;
#  - every valid order is applied exactly once (metrics; features dump equals the batch
#    computation of rfm_reference.py over the valid orders);
#  - the service stays up throughout (pid alive, /livez 200 after every phase, /readyz 200),
#    and exits 0 on SIGTERM.
# The input topic has one partition: the stream-clock entries (far-past) need a valid order seen
# first on the same partition, and the conflicting duplicate must follow its original.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
REF="$SS_SOURCE_DIR/tests/integration/rfm_reference.py"
D=$SS_TEST_DIR
TOPIC=hostile-in
ss_start_stack --partitions "$TOPIC=1"
C=$SS_STACK_CONF

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
metric() { # metric NAME -> value (0 if absent)
    curl -s "http://127.0.0.1:$PORT/metrics" | awk -v n="$1" '$1 == n { v = $2 } END { print v + 0 }'
}
processed() {
    echo $(($(metric streamscore_features_orders_applied_total) +
        $(metric streamscore_features_orders_duplicate_total) +
        $(metric streamscore_features_dead_letters_total)))
}
alive() {
    kill -0 "$FPID" 2>/dev/null || ss_fail "streamscore-features died ($1)"
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/livez")" = 200 ] ||
        ss_fail "/livez is not 200 ($1)"
}

"$SS_BIN/streamscore-hostile" manifest >"$D/manifest.tsv"
KINDS=$(($(wc -l <"$D/manifest.tsv") - 1))
[ "$KINDS" -ge 30 ] || ss_fail "corpus has only $KINDS kinds"
"$SS_BIN/streamscore-hostile" check >"$D/check.tsv" || ss_fail "corpus check failed: $(cat "$D/check.tsv")"

PORT=$(free_port)
ss_bg features "$SS_BIN/streamscore-features" -c "$C" --topic.transactions "$TOPIC" \
    --group.id hostile --redis.prefix hx: --session.timeout.ms 6000 --metrics.port "$PORT"
FPID=$SS_LAST_PID
ss_wait_for 30 curl -sf "http://127.0.0.1:$PORT/livez" || ss_fail "features /livez never answered"

# Two rounds with distinct ids: the second hits a service that has already digested the first.
TOTAL=0 VALID=0 DUPS=0 HOSTILE=0
for round in 1 2; do
    ss_log "round $round: producing the corpus ($KINDS kinds) with valid orders"
    "$SS_BIN/streamscore-hostile" -c "$C" --topic.transactions "$TOPIC" --tag "r$round" \
        --valid 300 --every 3 --valid-out "$D/valid$round.jsonl" produce \
        >"$D/produce$round.out" 2>"$D/produce$round.log" || ss_fail "hostile produce failed"
    v=$(awk '$1 == "valid" { print $2 }' "$D/produce$round.out")
    d=$(awk '$1 == "duplicates" { print $2 }' "$D/produce$round.out")
    h=$(awk '$1 == "hostile" { print $2 }' "$D/produce$round.out")
    m=$(awk '$1 == "messages" { print $2 }' "$D/produce$round.out")
    [ "$h" = "$KINDS" ] || ss_fail "produced $h bad events, manifest has $KINDS"
    VALID=$((VALID + v)) DUPS=$((DUPS + d)) HOSTILE=$((HOSTILE + h)) TOTAL=$((TOTAL + m))
    ss_wait_for 120 sh -c "[ \$(curl -s http://127.0.0.1:$PORT/metrics | awk '/^streamscore_features_(orders_applied|orders_duplicate|dead_letters)_total /{s+=\$2} END{print s+0}') -ge $TOTAL ]" ||
        ss_fail "features processed $(processed) of $TOTAL messages"
    alive "after round $round"
done
cat "$D/valid1.jsonl" "$D/valid2.jsonl" >"$D/valid.jsonl"

ss_log "checking counts: $VALID valid, $DUPS redeliveries, $HOSTILE bad"
[ "$(metric streamscore_features_orders_applied_total)" = "$VALID" ] ||
    ss_fail "applied $(metric streamscore_features_orders_applied_total), expected $VALID"
[ "$(metric streamscore_features_orders_duplicate_total)" = "$DUPS" ] ||
    ss_fail "duplicates $(metric streamscore_features_orders_duplicate_total), expected $DUPS"
[ "$(metric streamscore_features_dead_letters_total)" = "$HOSTILE" ] ||
    ss_fail "dead letters $(metric streamscore_features_dead_letters_total), expected $HOSTILE"
[ "$(metric streamscore_features_orders_conflict_total)" = 2 ] ||
    ss_fail "conflicts $(metric streamscore_features_orders_conflict_total), expected 2"

ss_log "reading transactions.dlq"
"$SS_BIN/streamscore-tail" -c "$C" --from beginning --count "$HOSTILE" --timeout 60 transactions.dlq \
    >"$D/dlq.jsonl" 2>"$D/dlq.log" || ss_fail "tail transactions.dlq failed"
# Nothing beyond the expected dead letters arrives.
"$SS_BIN/streamscore-tail" -c "$C" --from beginning --count $((HOSTILE + 1)) --timeout 5 transactions.dlq \
    >"$D/dlq_all.jsonl" 2>>"$D/dlq.log" || true
[ "$(wc -l <"$D/dlq_all.jsonl")" = "$HOSTILE" ] ||
    ss_fail "transactions.dlq holds $(wc -l <"$D/dlq_all.jsonl") dead letters, expected $HOSTILE"
$PY - "$D/manifest.tsv" "$D/dlq.jsonl" <<'EOF' || ss_fail "dead letters do not match the manifest"
import collections, csv, json, sys
kinds = list(csv.DictReader(open(sys.argv[1], encoding="utf-8"), delimiter="\t",
                            quoting=csv.QUOTE_NONE))
got = collections.defaultdict(list)
for line in open(sys.argv[2], encoding="utf-8"):
    m = json.loads(line)
    v = m.get("value") or {}
    got[m.get("key")].append((v.get("error_code"), v.get("reason", ""), v.get("service"),
                              (m.get("headers") or {}).get("dlq.reason")))
bad = 0
for k in kinds:
    key = "hostile/" + k["name"]
    dl = got.pop(key, [])
    if not dl:  # stateful kinds go out under their customer's key (state is owned per partition)
        for k2 in [k2 for k2 in got if not k2.startswith("hostile/")]:
            dl += [d for d in got[k2] if k["name"] in d[1]]
            got[k2] = [d for d in got[k2] if k["name"] not in d[1]]
            if not got[k2]:
                del got[k2]
    if len(dl) != 2:  # one per round
        print("%s: %d dead letters, expected 2" % (k["name"], len(dl)))
        bad += 1
        continue
    for code, reason, service, hdr in dl:
        if code != k["code"] or k["reason"] not in reason or service != "features" or hdr != reason:
            print("%s: got code=%s reason=%r service=%s header=%r; expected code=%s reason~%r"
                  % (k["name"], code, reason, service, hdr, k["code"], k["reason"]))
            bad += 1
for key, dl in got.items():
    print("unexpected dead letters under key %r: %s" % (key, dl))
    bad += 1
print("%d kinds x 2 rounds checked, %d problems" % (len(kinds), bad))
sys.exit(1 if bad else 0)
EOF

ss_log "comparing the feature store with the batch computation of the valid orders"
"$SS_BIN/streamscore-features" -c "$C" --redis.prefix hx: dump >"$D/features.jsonl" 2>"$D/dump.log" ||
    ss_fail "features dump failed"
AS_OF=$($PY -c 'import json,sys; print(max(json.loads(l)["event_time"] for l in open(sys.argv[1])))' "$D/valid.jsonl")
$PY "$REF" features "$D/valid.jsonl" --as-of "$AS_OF" >"$D/ref.jsonl"
$PY "$REF" compare-features "$D/ref.jsonl" "$D/features.jsonl" || ss_fail "features differ from the batch computation"
$PY "$REF" demand "$D/valid.jsonl" >"$D/ref_demand.jsonl"
"$SS_BIN/streamscore-features" -c "$C" --redis.prefix hx: dump-demand >"$D/demand.jsonl" 2>>"$D/dump.log" ||
    ss_fail "features dump-demand failed"
$PY "$REF" compare-demand "$D/ref_demand.jsonl" "$D/demand.jsonl" || ss_fail "demand differs from the batch computation"

alive "at the end"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/readyz")" = 200 ] || ss_fail "/readyz is not 200"
kill -TERM "$FPID"
wait "$FPID" || ss_fail "features exited non-zero on SIGTERM"
ss_log "ok: $KINDS kinds x 2 rounds dead-lettered with their reasons, $VALID valid orders exact"
