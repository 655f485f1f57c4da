"""Hand-rolled Avro for the benchmark's Python side (no avro package needed).

Confluent framing: byte 0 = 0x00, bytes 1-4 = big-endian schema id, then the Avro binary body.
Decodes Transaction (schemas/Transaction.avsc, id 1) and ChurnScore (id 4), encodes
CustomerFeatures (id 3). Written the way a data scientist would write it: plain Python, no
schema resolution (another writer id is an error). Standard library only.
"""
import struct

_DOUBLE = struct.Struct("<d")
TXN_ID = 1
FEATURES_ID = 3
SCORES_ID = 4
KINDS = ("PURCHASE", "RETURN")
RISK = ("LOW", "MEDIUM", "HIGH")
REASONS = ("EVENT", "INACTIVITY")


class AvroError(ValueError):
    pass


def _long(b, p):
    shift = 0
    acc = 0
    while True:
        if p >= len(b):
            raise AvroError("truncated varint")
        c = b[p]
        p += 1
        acc |= (c & 0x7F) << shift
        if not c & 0x80:
            break
        shift += 7
        if shift > 63:
            raise AvroError("varint too long")
    return (acc >> 1) ^ -(acc & 1), p


def _str(b, p):
    n, p = _long(b, p)
    if n < 0 or p + n > len(b):
        raise AvroError("bad string length")
    return b[p:p + n].decode("utf-8"), p + n


def _double(b, p):
    if p + 8 > len(b):
        raise AvroError("truncated double")
    return _DOUBLE.unpack_from(b, p)[0], p + 8


def _header(b, want):
    if len(b) < 5 or b[0] != 0:
        raise AvroError("bad magic byte")
    sid = int.from_bytes(b[1:5], "big")
    if sid != want:
        raise AvroError("unexpected schema id %d" % sid)
    return 5


def decode_txn(b):
    """Returns (order_id, customer_id or None, store_id, event_time_ms, kind, lines, currency)
    with lines a list of (product_id, quantity, unit_price)."""
    p = _header(b, TXN_ID)
    oid, p = _str(b, p)
    u, p = _long(b, p)
    cid = None
    if u == 1:
        cid, p = _str(b, p)
    elif u != 0:
        raise AvroError("bad union index")
    store, p = _str(b, p)
    t, p = _long(b, p)
    k, p = _long(b, p)
    if k not in (0, 1):
        raise AvroError("bad kind")
    lines = []
    while True:
        n, p = _long(b, p)
        if n == 0:
            break
        if n < 0:
            n = -n
            _, p = _long(b, p)
        for _ in range(n):
            prod, p = _str(b, p)
            q, p = _long(b, p)
            price, p = _double(b, p)
            lines.append((prod, q, price))
    cur, p = _str(b, p)
    return oid, cid, store, t, KINDS[k], lines, cur


def decode_txn_key_time(b):
    """Only (customer_id or None, event_time_ms) of a Transaction (latency join)."""
    p = _header(b, TXN_ID)
    _, p = _str(b, p)
    u, p = _long(b, p)
    cid = None
    if u == 1:
        cid, p = _str(b, p)
    _, p = _str(b, p)
    t, p = _long(b, p)
    return cid, t


def decode_score(b):
    """Returns (customer_id, probability, features_as_of, reason) of a ChurnScore."""
    p = _header(b, SCORES_ID)
    cid, p = _str(b, p)
    prob, p = _double(b, p)
    _, p = _long(b, p)
    u, p = _long(b, p)
    if u == 1:
        _, p = _long(b, p)
    _, p = _str(b, p)
    as_of, p = _long(b, p)
    _, p = _long(b, p)
    r, p = _long(b, p)
    return cid, prob, as_of, REASONS[r]


def _enc_long(out, v):
    v = (v << 1) ^ (v >> 63)
    while v & ~0x7F:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)


def _enc_str(out, s):
    e = s.encode("utf-8")
    _enc_long(out, len(e))
    out += e


_FEATURES_HEADER = bytes([0]) + FEATURES_ID.to_bytes(4, "big")


def encode_features(f):
    """f: dict with the CustomerFeatures fields (schemas/CustomerFeatures.avsc)."""
    out = bytearray(_FEATURES_HEADER)
    _enc_str(out, f["customer_id"])
    _enc_long(out, f["as_of"])
    _enc_str(out, f["order_id"])
    _enc_long(out, f["recency_days"])
    _enc_long(out, f["frequency"])
    out += _DOUBLE.pack(f["total_spent"])
    out += _DOUBLE.pack(f["avg_order"])
    out += _DOUBLE.pack(f["order_std"])
    _enc_long(out, f["days_since_first_order"])
    out += _DOUBLE.pack(f["purchase_frequency"])
    _enc_long(out, f["recent_orders_30d"])
    _enc_long(out, f["return_count"])
    out += _DOUBLE.pack(f["return_amount"])
    _enc_long(out, f["first_order_time"])
    _enc_long(out, f["last_order_time"])
    _enc_long(out, f["source_partition"])
    _enc_long(out, f["source_offset"])
    return bytes(out)
