#!/usr/bin/env bash
# Feature store against a real redis-server (no Kafka), through streamscore-fstoretool:
#  1. synthetic orders (out of order, returns, anonymous, repeated products) applied in small
#     batches give exactly the state of the C reference model (fmodel), bit for bit;
#  2. applying them again changes nothing (all duplicates); changed content is a conflict;
#  3. every order delivered twice, shuffled within its day, in large batches: features equal an
#     independent pandas computation (rfm_reference.py) and demand matches exactly;
#  4. redis-server killed (-9) and restarted (AOF, empty script cache) in the middle of a run:
#     the driver backs off, reconnects, reloads the script; nothing lost or doubled;
#  5. SCRIPT FLUSH on a live connection: NOSCRIPT is handled by reloading, nothing lost.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
TOOL="$SS_BIN/streamscore-fstoretool"
REF="$SS_SOURCE_DIR/tests/integration/rfm_reference.py"
[ -x "$TOOL" ] || ss_fail "missing $TOOL (build first)"
command -v redis-server >/dev/null || ss_fail "redis-server not installed"
D=$SS_TEST_DIR

PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$D/redis"
start_redis() {
    ss_bg redis redis-server --port "$PORT" --bind 127.0.0.1 --dir "$D/redis" --save '' \
        --appendonly yes --appendfsync always --logfile "$D/redis-server.log"
    REDIS_PID=$SS_LAST_PID
    ss_wait_for 20 sh -c "redis-cli -p $PORT ping | grep -q PONG" || ss_fail "redis-server did not start"
}
start_redis
tool() { "$TOOL" --redis.port "$PORT" "$@"; }

# Synthetic orders: 400 customers, 60 products, 5 stores, 150 days; event times mostly increasing
# with 10% arriving up to 45 days late; 12% returns, 20% anonymous; repeated products in an order.
$PY - "$D" <<'EOF'
import json, random, sys
d = sys.argv[1]
rnd = random.Random(20240611)
T0 = 1291190760000
DAY = 86400000
orders = []
t = T0
for i in range(6000):
    t += rnd.randint(0, 150 * DAY // 6000 * 2)
    et = t - (rnd.randint(0, 45 * DAY) if rnd.random() < 0.10 else 0)
    anon = rnd.random() < 0.20
    lines = []
    for _ in range(rnd.randint(1, 6)):
        p = "P%03d" % rnd.randint(0, 59)
        lines.append({"product_id": p, "quantity": rnd.randint(1, 24),
                      "unit_price": round(rnd.choice([0.29, 0.85, 1.25, 2.55, 4.95, 12.75, 165.0]) *
                                          rnd.choice([1, 1, 1, 3]), 2)})
    orders.append({"order_id": "%06d" % (500000 + i),
                   "customer_id": None if anon else "%05d" % rnd.randint(12000, 12399),
                   "store_id": "S%d" % rnd.randint(1, 5), "event_time": et,
                   "kind": "RETURN" if rnd.random() < 0.12 else "PURCHASE",
                   "lines": lines, "currency": "GBP"})
with open(d + "/orders.jsonl", "w") as f:
    for o in orders:
        f.write(json.dumps(o) + "\n")
# Every order twice, shuffled within its (UTC) event day; days in order.
days = {}
for o in orders + orders:
    days.setdefault(o["event_time"] // DAY, []).append(o)
with open(d + "/twice.jsonl", "w") as f:
    for k in sorted(days):
        rnd.shuffle(days[k])
        for o in days[k]:
            f.write(json.dumps(o) + "\n")
# Conflicts: 5 known order ids with a changed quantity.
with open(d + "/conflicts.jsonl", "w") as f:
    for o in orders[100:105]:
        o = json.loads(json.dumps(o))
        o["lines"][0]["quantity"] += 1
        f.write(json.dumps(o) + "\n")
EOF

count() { grep -c "\"status\":\"$1\"" "$2" || true; }

# 1. In-order, batches of 7, exact against the model.
ss_log "step 1: apply in batches of 7, compare with the reference model"
tool --redis.prefix a: --batch.size 7 apply <"$D/orders.jsonl" >"$D/apply1.out" 2>"$D/apply1.log"
[ "$(count applied "$D/apply1.out")" = 6000 ] || ss_fail "expected 6000 applied: $(sort "$D/apply1.out" | head)"
tool --redis.prefix a: dump-state >"$D/state_a.jsonl"
"$TOOL" model <"$D/orders.jsonl" >"$D/model_a.jsonl"
$PY "$REF" compare-exact "$D/model_a.jsonl" "$D/state_a.jsonl" || ss_fail "redis state differs from the model"
tool --redis.prefix a: dump-demand >"$D/demand_a.jsonl"
"$TOOL" model --what demand <"$D/orders.jsonl" >"$D/model_demand_a.jsonl"
$PY "$REF" compare-demand "$D/model_demand_a.jsonl" "$D/demand_a.jsonl" || ss_fail "demand differs from the model"
grep -q '"late":1' "$D/apply1.out" || ss_fail "expected some late (closed-day) orders with lateness 1h"

# 2. Redelivery changes nothing; changed content is a conflict.
ss_log "step 2: redelivery and conflicts"
tool --redis.prefix a: --batch.size 1000 apply <"$D/orders.jsonl" >"$D/apply2.out" 2>"$D/apply2.log"
[ "$(count duplicate "$D/apply2.out")" = 6000 ] || ss_fail "expected 6000 duplicates"
tool --redis.prefix a: apply <"$D/conflicts.jsonl" >"$D/apply3.out" 2>"$D/apply3.log"
[ "$(count conflict "$D/apply3.out")" = 5 ] || ss_fail "expected 5 conflicts: $(cat "$D/apply3.out")"
tool --redis.prefix a: dump-state >"$D/state_a2.jsonl"
$PY "$REF" compare-exact "$D/state_a.jsonl" "$D/state_a2.jsonl" || ss_fail "state changed by redelivery"

# 3. Twice delivered and shuffled within a day, big batches, never-closing days: pandas reference.
ss_log "step 3: twice delivered, shuffled within days, against pandas"
tool --redis.prefix b: --batch.size 997 --demand.allowed_lateness_ms -1 apply \
    <"$D/twice.jsonl" >"$D/apply4.out" 2>"$D/apply4.log"
[ "$(count applied "$D/apply4.out")" = 6000 ] || ss_fail "expected 6000 applied of 12000"
[ "$(count duplicate "$D/apply4.out")" = 6000 ] || ss_fail "expected 6000 duplicates of 12000"
tool --redis.prefix b: dump >"$D/features_b.jsonl"
AS_OF=$($PY -c 'import json,sys; print(max(json.loads(l)["event_time"] for l in open(sys.argv[1])))' "$D/orders.jsonl")
$PY "$REF" features "$D/orders.jsonl" --as-of "$AS_OF" >"$D/ref_features.jsonl"
$PY "$REF" compare-features "$D/ref_features.jsonl" "$D/features_b.jsonl" || ss_fail "features differ from pandas"
tool --redis.prefix b: dump-demand >"$D/demand_b.jsonl"
$PY "$REF" demand "$D/orders.jsonl" >"$D/ref_demand.jsonl"
$PY "$REF" compare-demand "$D/ref_demand.jsonl" "$D/demand_b.jsonl" || ss_fail "demand differs from pandas"
# A later as-of ages recency and the window without any new event.
tool --redis.prefix b: dump --as-of $((AS_OF + 40 * 86400000)) >"$D/features_b40.jsonl"
$PY "$REF" features "$D/orders.jsonl" --as-of $((AS_OF + 40 * 86400000)) >"$D/ref_features40.jsonl"
$PY "$REF" compare-features "$D/ref_features40.jsonl" "$D/features_b40.jsonl" || ss_fail "later as-of differs"

# 4. Redis killed and restarted mid-run.
ss_log "step 4: redis-server kill -9 and restart during a run"
mkfifo "$D/feed"
# The driver reads a fifo that this script writes in three parts around the outage.
("$TOOL" --redis.port "$PORT" --redis.prefix c: --batch.size 50 apply <"$D/feed" \
    >"$D/apply5.out" 2>"$D/apply5.log") &
APPLY_PID=$!
SS_PIDS+=("$APPLY_PID")
exec 7>"$D/feed"
head -n 3000 "$D/twice.jsonl" >&7
ss_wait_for 30 sh -c "[ \$(wc -l <'$D/apply5.out') -ge 3000 ]" || ss_fail "first half not applied"
kill -9 "$REDIS_PID"
wait "$REDIS_PID" 2>/dev/null || true
# In the background: the driver stops reading while it retries, so the fifo fills up.
(sed -n 3001,5000p "$D/twice.jsonl" >&7) &
WRITER=$!
ss_wait_for 30 grep -q "retrying batch" "$D/apply5.log" || ss_fail "the driver never saw the outage"
start_redis 7>&- # redis-server must not hold the fifo open
wait "$WRITER"
tail -n +5001 "$D/twice.jsonl" >&7
exec 7>&-
wait "$APPLY_PID" || ss_fail "apply exited non-zero after the outage"
grep -q "retrying batch" "$D/apply5.log" || ss_fail "the driver never saw the outage"
grep -q "reconnected" "$D/apply5.log" || ss_fail "no reconnect logged"
tool --redis.prefix c: dump-state >"$D/state_c.jsonl"
"$TOOL" model <"$D/twice.jsonl" >"$D/model_c.jsonl"
$PY "$REF" compare-exact "$D/model_c.jsonl" "$D/state_c.jsonl" || ss_fail "state after the outage differs"
[ "$(count applied "$D/apply5.out")" = 6000 ] || ss_fail "expected 6000 applied across the outage"

# 5. SCRIPT FLUSH under a connected driver: EVALSHA gets NOSCRIPT, the script is reloaded.
ss_log "step 5: SCRIPT FLUSH (NOSCRIPT) during a run"
mkfifo "$D/feed2"
("$TOOL" --redis.port "$PORT" --redis.prefix e: --batch.size 100 apply <"$D/feed2" \
    >"$D/apply6.out" 2>"$D/apply6.log") &
APPLY_PID=$!
SS_PIDS+=("$APPLY_PID")
exec 8>"$D/feed2"
head -n 3000 "$D/orders.jsonl" >&8
ss_wait_for 30 sh -c "[ \$(wc -l <'$D/apply6.out') -ge 3000 ]" || ss_fail "first part not applied"
redis-cli -p "$PORT" SCRIPT FLUSH >/dev/null
tail -n +3001 "$D/orders.jsonl" >&8
exec 8>&-
wait "$APPLY_PID" || ss_fail "apply exited non-zero after SCRIPT FLUSH"
# local mode writes as transactions unless local.tx=false: no script to reload then
if [ "${SS_FSTORE_STATE_MODE:-script}" = script ] || [ "${SS_FSTORETOOL_LOCAL_TX:-true}" = false ]; then
    grep -q "reloading" "$D/apply6.log" || ss_fail "NOSCRIPT reload not logged"
fi
[ "$(count applied "$D/apply6.out")" = 6000 ] || ss_fail "expected 6000 applied around SCRIPT FLUSH"
tool --redis.prefix e: dump-state >"$D/state_e.jsonl"
$PY "$REF" compare-exact "$D/model_a.jsonl" "$D/state_e.jsonl" || ss_fail "state after SCRIPT FLUSH differs"

# 6. Layouts (docs/redis.md): local mode stores a customer as one record field `r`, script mode
# one field per item. Script mode must refuse a record rather than take the customer as new.
if [ "${SS_FSTORE_STATE_MODE:-script}" = script ]; then
    ss_log "step 6: script mode refuses a local-mode customer record"
    CID=$(head -n 1 "$D/state_a.jsonl" | $PY -c 'import json,sys; print(json.load(sys.stdin)["customer_id"])')
    redis-cli -p "$PORT" HSET "f:c:{$CID}" r "local-mode record" >/dev/null
    grep -m 1 "\"customer_id\": \"$CID\"" "$D/orders.jsonl" >"$D/one.jsonl" || true
    [ -s "$D/one.jsonl" ] || ss_fail "no order of customer $CID"
    if tool --redis.prefix f: apply <"$D/one.jsonl" >"$D/apply7.out" 2>"$D/apply7.log" &&
        grep -q '"status":"applied"' "$D/apply7.out"; then
        ss_fail "script mode applied an order over a local-mode record"
    fi
    grep -q "LAYOUT" "$D/apply7.out" "$D/apply7.log" || ss_fail "no LAYOUT error: $(cat "$D/apply7.log" | tail -3)"
    [ "$(redis-cli -p "$PORT" HLEN "f:c:{$CID}")" = 1 ] || ss_fail "the record's hash was written"
fi
ss_log "ok"
