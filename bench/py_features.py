"""The Python reference for the ingest benchmark: streamscore-features' work written the way a
data scientist would write it (confluent_kafka consumer, hand-rolled Avro decoder, redis-py
pipelines per poll batch). Run with /usr/bin/python3 (python3-confluent-kafka, python3-redis).

    py_features.py --brokers B --redis-port P --count N [--group G] [--topic transactions]
                   [--batch 1000] [--prefix py:] [--max-seconds S] [--no-produce]

Same features as the C service, per poll batch:
  1. decode every Transaction (bench_avro.decode_txn); undecodable ones are counted and skipped;
  2. one pipeline: HSETNX the order id (dedupe; a duplicate with another fingerprint is a
     conflict), HMGET every touched customer's aggregates, HMGET the touched stores' watermarks;
  3. in Python, in delivery order: Welford mean/variance, first/last purchase, 30-day window,
     returns; per (store, event-time day) product quantities; watermarks;
  4. one pipeline: HSET the aggregates, HINCRBY customer x product and demand quantities,
     PEXPIRE, HSET watermarks;
  5. produce one CustomerFeatures event per applied customer order (customer-features), then
     commit the consumer offsets asynchronously.
Keys live under --prefix (default "py:") in the layout of docs/redis.md, so the C service's keys
are not touched. Prints one JSON line: messages, seconds from the first message received to the
last batch written to Redis, rate, and counts. --max-seconds stops early (rate over what was
done). Exit 3 when fewer than N messages were handled (and no --max-seconds stop).
"""
import argparse
import json
import math
import sys
import time

from confluent_kafka import Consumer, Producer
import redis

import bench_avro

DAY = 86400000
WINDOW = 30 * DAY
STATE = ("n", "s", "mu", "m2", "f", "l", "rn", "ra", "w")


def day_of(t):
    d = time.gmtime(t // 1000)
    return "%04d-%02d-%02d" % (d.tm_year, d.tm_mon, d.tm_mday)


def parse_state(vals):
    n, s, mu, m2, f, l, rn, ra, w = vals
    return {
        "n": int(n or 0), "s": float(s or 0), "mu": float(mu or 0), "m2": float(m2 or 0),
        "f": int(f or 0), "l": int(l or 0), "rn": int(rn or 0), "ra": float(ra or 0),
        "w": [int(x) for x in w.split(b",")] if w else [],
    }


def purchase(st, t, amount):
    st["n"] += 1
    st["s"] += amount
    d = amount - st["mu"]
    st["mu"] += d / st["n"]
    st["m2"] += d * (amount - st["mu"])
    if st["n"] == 1 or t < st["f"]:
        st["f"] = t
    if st["n"] == 1 or t > st["l"]:
        st["l"] = t
    lo = st["l"] - WINDOW
    st["w"] = sorted([x for x in st["w"] if x >= lo] + ([t] if t >= lo else []))


def features(cid, oid, t, st, part, off):
    T = max(t, st["l"]) if st["n"] else t
    n = st["n"]
    dsfo = (st["l"] - st["f"]) // DAY if n else 0
    return {
        "customer_id": cid, "as_of": T, "order_id": oid,
        "recency_days": (T - st["l"]) // DAY if n else 0,
        "frequency": n, "total_spent": st["s"], "avg_order": st["mu"],
        "order_std": math.sqrt(st["m2"] / (n - 1)) if n > 1 and st["m2"] > 0 else 0.0,
        "days_since_first_order": dsfo, "purchase_frequency": n / (dsfo + 1),
        "recent_orders_30d": sum(1 for x in st["w"] if T - WINDOW <= x <= T),
        "return_count": st["rn"], "return_amount": st["ra"],
        "first_order_time": st["f"], "last_order_time": st["l"],
        "source_partition": part, "source_offset": off,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--brokers", required=True)
    ap.add_argument("--redis-host", default="127.0.0.1")
    ap.add_argument("--redis-port", type=int, required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--group", default="bench-py")
    ap.add_argument("--topic", default="transactions")
    ap.add_argument("--features-topic", default="customer-features")
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--prefix", default="py:")
    ap.add_argument("--ttl-days", type=int, default=400)
    ap.add_argument("--max-seconds", type=float, default=0)
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--no-produce", action="store_true")
    ap.add_argument("--cpu-out", help="write this process's CPU seconds here at the end")
    a = ap.parse_args()

    consumer = Consumer({
        "bootstrap.servers": a.brokers, "group.id": a.group, "auto.offset.reset": "earliest",
        "enable.auto.commit": False, "session.timeout.ms": 6000,
    })
    consumer.subscribe([a.topic])
    producer = Producer({"bootstrap.servers": a.brokers, "linger.ms": 5})
    r = redis.Redis(host=a.redis_host, port=a.redis_port)
    P = a.prefix
    ttl = a.ttl_days * DAY
    got = applied = dup = conflict = bad = produced = 0
    t_start = time.monotonic()
    t_first = t_last = None
    while got < a.count:
        now = time.monotonic()
        if now - t_start > a.timeout:
            break
        if a.max_seconds and t_first is not None and now - t_first > a.max_seconds:
            break
        msgs = consumer.consume(num_messages=a.batch, timeout=0.05)
        if not msgs:
            continue
        if t_first is None:
            t_first = time.monotonic()
        orders = []
        for m in msgs:
            if m.error():
                continue
            got += 1
            try:
                oid, cid, store, t, kind, lines, cur = bench_avro.decode_txn(m.value())
            except (bench_avro.AvroError, UnicodeDecodeError):
                bad += 1
                continue
            if not oid or not lines:
                bad += 1
                continue
            qty = {}
            amount = 0.0
            for prod, q, price in lines:
                qty[prod] = qty.get(prod, 0) + q
                amount += q * price
            fp = "%s|%s|%s|%d|%s|%.17g" % (cid or "", store, kind, t, cur, amount)
            orders.append((oid, cid, store, t, kind, qty, amount, fp, m.partition(), m.offset()))
        if not orders:
            consumer.commit(asynchronous=True)
            continue
        # 1st round trip: dedupe claims and the current state.
        pipe = r.pipeline(transaction=False)
        custs = []
        seen = set()
        stores = sorted({o[2] for o in orders})
        for o in orders:
            key = P + "c:{%s}" % o[1] if o[1] else P + "dm:{%s:%s}" % (o[2], day_of(o[3]))
            pipe.hsetnx(key, "o:" + o[0], o[7])
            if o[1] and o[1] not in seen:
                seen.add(o[1])
                custs.append(o[1])
        for c in custs:
            pipe.hmget(P + "c:{%s}" % c, STATE)
        pipe.hmget(P + "wm", stores)
        res = pipe.execute()
        claims = res[:len(orders)]
        state = {c: parse_state(v) for c, v in zip(custs, res[len(orders):len(orders) + len(custs)])}
        wm = {s: int(v) if v else None for s, v in zip(stores, res[-1])}
        # 2nd round trip: the writes.
        pipe = r.pipeline(transaction=False)
        dirty = set()
        outs = []
        for o, claimed in zip(orders, claims):
            oid, cid, store, t, kind, qty, amount, fp, part, off = o
            if not claimed:
                dup += 1  # a conflict check would need a 3rd read; counted as duplicate
                continue
            applied += 1
            dkey = P + "dm:{%s:%s}" % (store, day_of(t))
            if kind == "PURCHASE":
                for prod, q in qty.items():
                    pipe.hincrby(dkey, "p:" + prod, q)
                pipe.pexpire(dkey, ttl)
            if wm.get(store) is None or t > wm[store]:
                wm[store] = t
            if cid:
                st = state[cid]
                ckey = P + "c:{%s}" % cid
                if kind == "PURCHASE":
                    purchase(st, t, amount)
                    for prod, q in qty.items():
                        pipe.hincrby(ckey, "p:" + prod, q)
                else:
                    st["rn"] += 1
                    st["ra"] += amount
                dirty.add(cid)
                outs.append(features(cid, oid, t, st, part, off))
        for c in dirty:
            st = state[c]
            pipe.hset(P + "c:{%s}" % c, mapping={
                "n": st["n"], "s": repr(st["s"]), "mu": repr(st["mu"]), "m2": repr(st["m2"]),
                "f": st["f"], "l": st["l"], "rn": st["rn"], "ra": repr(st["ra"]),
                "w": ",".join(str(x) for x in st["w"])})
            pipe.pexpire(P + "c:{%s}" % c, ttl)
        marks = {s: v for s, v in wm.items() if v is not None}
        if marks:
            pipe.hset(P + "wm", mapping=marks)
        pipe.execute()
        t_last = time.monotonic()
        if not a.no_produce:
            for f in outs:
                producer.produce(a.features_topic, key=f["customer_id"],
                                 value=bench_avro.encode_features(f))
                produced += 1
            producer.poll(0)
        consumer.commit(asynchronous=True)
    producer.flush(30)
    consumer.close()
    secs = (t_last - t_first) if t_first and t_last else 0.0
    print(json.dumps({"messages": got, "seconds": round(secs, 6),
                      "rate": got / secs if secs > 0 else 0.0, "applied": applied,
                      "duplicates": dup, "conflicts": conflict, "invalid": bad,
                      "produced": produced}))
    if a.cpu_out:
        with open(a.cpu_out, "w") as f:
            f.write("%.3f\n" % time.process_time())
    if got < a.count and not (a.max_seconds and t_first is not None):
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
