"""Redis memory of the feature store, per customer and per (store, day) (bench/run).

    redis_mem.py --port P [--host 127.0.0.1] [--prefix ss:] [--sample 400]

Counts the customer hashes (<prefix>c:{id}) and demand hashes (<prefix>dm:{store:day}) with
SCAN, and on a sample of each reads MEMORY USAGE (SAMPLES 0: exact), HLEN, the field kinds and
OBJECT ENCODING. Local mode's customer record (field r, docs/redis.md) is decoded for its order
and product counts and its size; demand records (q:<partition> fields) are counted with their
bytes. For the per-field layout (script mode: p: customer x product quantity, o: order-id
dedupe entry) the bytes per field are the slope of a least-squares line of MEMORY USAGE against
HLEN over the sampled listpack-encoded hashes, and separately over the hashtable-encoded ones.
Prints one JSON line.
Standard library only (a minimal RESP client).
"""
import argparse
import json
import random
import socket
import struct
import sys


class Resp:
    def __init__(self, host, port):
        self.s = socket.create_connection((host, port), timeout=30)
        self.f = self.s.makefile("rb")

    def cmd(self, *args):
        out = b"*%d\r\n" % len(args)
        for x in args:
            x = x if isinstance(x, bytes) else str(x).encode()
            out += b"$%d\r\n%s\r\n" % (len(x), x)
        self.s.sendall(out)
        return self.read()

    def read(self):
        line = self.f.readline()
        t, rest = line[:1], line[1:-2]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            raise RuntimeError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)[:-2]
            return data
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RuntimeError("bad RESP reply %r" % line)


def scan(r, pattern):
    cur = b"0"
    keys = []
    while True:
        cur, ks = r.cmd("SCAN", cur, "MATCH", pattern, "COUNT", 1000)
        keys.extend(ks)
        if cur == b"0":
            return keys


def slope(xs, ys):
    n = len(xs)
    if n < 3:
        return None, None
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None, None
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    return b, my - b * mx


def record_counts(v):
    """(orders, products) of a customer record (docs/redis.md)."""
    (nw,) = struct.unpack_from("<I", v, 65)
    o = 69 + 8 * nw
    counts = []
    for _ in range(2):
        (n,) = struct.unpack_from("<I", v, o)
        o += 4
        for _ in range(n):
            o += 1 + v[o] + 8
        counts.append(n)
    return counts


def study(r, keys, sample):
    random.seed(1)
    pick = keys if len(keys) <= sample else random.sample(keys, sample)
    mem, flen, pf, of, enc, encs = [], [], [], [], {}, []
    rec_bytes, qf, qbytes = [], [], []
    for k in pick:
        m = r.cmd("MEMORY", "USAGE", k, "SAMPLES", 0)
        if m is None:
            continue
        fields = r.cmd("HKEYS", k)
        e = r.cmd("OBJECT", "ENCODING", k)
        e = e.decode() if isinstance(e, bytes) else e
        enc[e] = enc.get(e, 0) + 1
        encs.append(e)
        mem.append(m)
        flen.append(len(fields))
        if b"r" in fields:
            v = r.cmd("HGET", k, "r")
            n_o, n_p = record_counts(v)
            rec_bytes.append(len(v))
            of.append(n_o)
            pf.append(n_p)
        else:
            pf.append(sum(1 for f in fields if f.startswith(b"p:")))
            of.append(sum(1 for f in fields if f.startswith(b"o:")))
        q = [f for f in fields if f.startswith(b"q:")]
        qf.append(len(q))
        qbytes.append(sum(r.cmd("HSTRLEN", k, f) for f in q))
    n = len(mem)
    lp = [(x, y) for x, y, e in zip(flen, mem, encs) if e in ("listpack", "ziplist")]
    b, a = slope([x for x, _ in lp], [y for _, y in lp])
    ht = [(x, y) for x, y, e in zip(flen, mem, encs) if e == "hashtable"]
    bh, _ = slope([x for x, _ in ht], [y for _, y in ht])
    return {
        "keys": len(keys), "sampled": n,
        "bytes_mean": sum(mem) / n if n else None,
        "fields_mean": sum(flen) / n if n else None,
        "product_fields_mean": sum(pf) / n if n else None,
        "order_fields_mean": sum(of) / n if n else None,
        "bytes_per_field": b, "bytes_intercept": a, "bytes_per_field_hashtable": bh,
        "encodings": enc,
        "records": len(rec_bytes),
        "record_bytes_mean": sum(rec_bytes) / len(rec_bytes) if rec_bytes else None,
        "demand_records_mean": sum(qf) / n if n else None,
        "demand_record_bytes_mean": sum(qbytes) / sum(qf) if sum(qf) else None,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--prefix", default="ss:")
    ap.add_argument("--sample", type=int, default=400)
    a = ap.parse_args()
    r = Resp(a.host, a.port)
    cust = scan(r, a.prefix + "c:*")
    dem = scan(r, a.prefix + "dm:*")
    out = {"customers": study(r, cust, a.sample), "demand": study(r, dem, a.sample),
           "dbsize": r.cmd("DBSIZE")}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
