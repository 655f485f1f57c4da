#!/usr/bin/env bash
# Crash and restart of streamscore-scorer: CustomerFeatures of a generator history
# (streamscore-scorertool features, the feature service's own rfm code) arrive in monthly slices
# while the scorer is killed with SIGKILL at random moments and restarted (each start rebuilds
# its state by replaying customer-features up to the committed offsets). At the end (group
# drained):
#  - no score lost: every CustomerFeatures event has an EVENT score with its customer and
#    features_as_of;
#  - duplicates only as documented (docs/churn.md: "a crash repeats scores, never loses them"):
#    a repeated EVENT score (customer, features_as_of) carries the same probability, level and
#    model version each time; their number is reported (INACTIVITY scores of one customer and
#    day may legitimately differ: catch-up re-scoring after a lagging partition's events);
#  - the end state is that of an uninterrupted run: a fresh scorer in another group reads the
#    same input once, and the lookup API of both gives the same probability and level for every
#    customer.
# SS_CRASH_SEED=N replays the same kill schedule.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rel_lib.sh"

B=$SS_BIN
D=$SS_TEST_DIR
SEED=${SS_CRASH_SEED:-$$}
RANDOM=$SEED
KILLS=4
FT=crash-features
ST=crash-scores
GROUP=crash-scorer-$$
ss_log "seed $SEED"
ss_start_stack --no-redis --partitions "$FT=3,$ST=3"
C=$SS_STACK_CONF

"$B/streamscore-gen" --out "$D/gen.csv" --customers 300 --days 300 --churn-share 0.3 --seed 17 \
    2>"$D/gen.log" || ss_fail "gen failed"
"$B/streamscore-train" --format native --out "$D/model" --version crash-v1 "$D/gen.csv" \
    >"$D/train.out" 2>"$D/train.log" || ss_fail "train failed: $(tail -3 "$D/train.log")"

# The input: 12 slices of 25 event days, one every 2 s (about 25 s in all).
(
    for ((m = 0; m < 12; m++)); do
        from=$(date -u -d "2024-01-01 + $((25 * m)) days" +%Y-%m-%d)
        until=$(date -u -d "2024-01-01 + $((25 * (m + 1))) days" +%Y-%m-%d)
        args=(--from "$from")
        [ "$m" -lt 11 ] && args+=(--until "$until")
        "$B/streamscore-scorertool" -c "$C" features --topic.features "$FT" --produce \
            --jsonl "$D/slice$m.jsonl" "${args[@]}" "$D/gen.csv" >"$D/slice$m.out" 2>"$D/slice$m.log" ||
            exit 1
        sleep 2
    done
) &
FEED=$!

PORT=$(rel_free_port)
URL="http://127.0.0.1:$PORT"
start_scorer() {
    ss_bg "$1" "$B/streamscore-scorer" -c "$C" --topic.features "$FT" --topic.scores "$ST" \
        --group.id "$GROUP" --model.path "$D/model" --metrics.port "$PORT" \
        --session.timeout.ms 6000 --batch.size 100
    SPID=$SS_LAST_PID
}
for ((k = 1; k <= KILLS; k++)); do
    start_scorer "scorer$k"
    ss_wait_for 60 curl -sf "$URL/readyz" || ss_fail "scorer $k not ready: $(tail -3 "$D/scorer$k.log")"
    # A random moment while it is scoring: once it scored something in this run (or the feed is
    # over), 0 to 1.5 s later.
    ss_wait_for 30 sh -c "! kill -0 $FEED || [ \$(curl -s $URL/metrics | awk '/^streamscore_churn_events_total\{result=\"scored\"\} /{print \$2}') -gt 0 ] 2>/dev/null" ||
        ss_fail "scorer $k scored nothing"
    delay=$((RANDOM % 1500))
    sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
    kill -0 "$SPID" 2>/dev/null || ss_fail "scorer $k exited by itself: $(tail -3 "$D/scorer$k.log")"
    scored=$(rel_metric "$PORT" 'streamscore_churn_events_total{result="scored"}')
    kill -KILL "$SPID"
    wait "$SPID" 2>/dev/null || true
    ss_log "kill $k, ${delay} ms after its first scores (scored $scored in this run)"
done
wait "$FEED" || ss_fail "feeding CustomerFeatures failed"
cat "$D"/slice{0..11}.jsonl >"$D/features.jsonl"
NF=$(wc -l <"$D/features.jsonl")
ss_log "final run: $NF CustomerFeatures events in all"
start_scorer final
ss_wait_for 60 curl -sf "$URL/readyz" || ss_fail "final scorer not ready"
rel_wait_drained "$GROUP" "$FT" 120 || ss_fail "scorer did not catch up"
lookup_all() { # lookup_all OUT: the lookup API's answer for every customer, one JSON per line
    local cid
    for cid in $(jq -r .customer_id "$D/features.jsonl" | sort -u); do
        curl -sf "$URL/v1/customers/$cid/churn" || echo "{\"customer_id\":\"$cid\",\"missing\":true}"
        echo
    done >"$1"
}
lookup_all "$D/lookup_crash.jsonl"
kill -TERM "$SPID"
wait "$SPID" || ss_fail "scorer exited non-zero on SIGTERM"

ss_log "reference: an uninterrupted scorer in a new group over the same input"
ss_bg reference "$B/streamscore-scorer" -c "$C" --topic.features "$FT" --topic.scores "$ST-ref" \
    --group.id "$GROUP-ref" --model.path "$D/model" --metrics.port "$PORT" --session.timeout.ms 6000 \
    --batch.size 100
SPID=$SS_LAST_PID
ss_wait_for 60 curl -sf "$URL/readyz" || ss_fail "reference scorer not ready"
rel_wait_drained "$GROUP-ref" "$FT" 120 || ss_fail "reference scorer did not catch up"
lookup_all "$D/lookup_ref.jsonl"
kill -TERM "$SPID"
wait "$SPID" || ss_fail "reference scorer exited non-zero on SIGTERM"
$REL_PY - "$D/lookup_crash.jsonl" "$D/lookup_ref.jsonl" <<'EOF' || ss_fail "end state differs from an uninterrupted run"
import json, sys
def load(p):
    return {o["customer_id"]: o for o in (json.loads(l) for l in open(p) if l.strip())}
a, b = load(sys.argv[1]), load(sys.argv[2])
bad = 0
for cid in sorted(b):
    x, y = a.get(cid, {}), b[cid]
    if x.get("missing") or y.get("missing") or (x.get("probability"), x.get("risk_level")) != \
            (y.get("probability"), y.get("risk_level")):
        bad += 1
        if bad <= 5:
            print("customer %s: after crashes %s, uninterrupted %s" % (cid, x, y))
print("end state: %d customers, %d differ from the uninterrupted run" % (len(b), bad))
sys.exit(1 if bad or len(a) != len(b) else 0)
EOF

"$B/streamscore-tail" -c "$C" --timeout 15 "$ST" >"$D/scores.jsonl" 2>"$D/tail.log" || true
[ -s "$D/scores.jsonl" ] || ss_fail "no scores read"
$REL_PY - "$D/features.jsonl" "$D/scores.jsonl" <<'EOF' || ss_fail "score checks failed"
import collections, json, sys
feats = [json.loads(l) for l in open(sys.argv[1])]
scores = [json.loads(l)["value"] for l in open(sys.argv[2])]
if any(s is None for s in scores):
    sys.exit("a score did not decode")
by_key = collections.defaultdict(list)
for s in scores:
    by_key[(s["customer_id"], s["features_as_of"], s["reason"])].append(s)
lost = [f for f in feats if (f["customer_id"], f["as_of"], "EVENT") not in by_key]
for f in lost[:5]:
    print("no EVENT score for", f["customer_id"], f["as_of"])
dups = 0
bad = 0
inact_rep = sum(len(v) - 1 for k, v in by_key.items() if k[2] != "EVENT")
for k, v in by_key.items():
    if len(v) > 1 and k[2] == "EVENT":
        dups += len(v) - 1
        first = v[0]
        for s in v[1:]:
            if (s["probability"], s["risk_level"], s["model_version"]) != \
                    (first["probability"], first["risk_level"], first["model_version"]):
                bad += 1
                if bad <= 5:
                    print("repeated score differs:", first, s)
print("%d CustomerFeatures events, %d scores (%d EVENT), %d lost, %d EVENT scores repeated "
      "(identical: %s), %d INACTIVITY scores for an already scored (customer, day)"
      % (len(feats), len(scores), sum(1 for s in scores if s["reason"] == "EVENT"), len(lost),
         dups, "yes" if not bad else "NO", inact_rep))
sys.exit(1 if lost or bad else 0)
EOF
ss_log "ok (seed $SEED)"
