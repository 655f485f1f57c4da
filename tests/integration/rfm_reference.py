#!/usr/bin/python3
"""Independent batch (pandas) computation of streamscore-features' outputs, and comparators.

Input: Transaction records as JSON lines (streamscore-tail output, or any file of the same shape):
  {"order_id":..,"customer_id":..|null,"store_id":..,"event_time":ms,"kind":"PURCHASE"|"RETURN",
   "lines":[{"product_id":..,"quantity":N,"unit_price":X}],...}
streamscore-tail lines ({"topic":..,"value":{...}}) are accepted too (their "value" is used).
Redeliveries (same order_id) count once: the first occurrence wins.

  rfm_reference.py features ORDERS [--as-of MS]        per-customer features as JSON lines
  rfm_reference.py demand ORDERS [--tz-offset-min N]   per (store, day, product) sold quantity
  rfm_reference.py compare-features REF GOT            exact counts/days, 1e-9 relative amounts
  rfm_reference.py compare-demand REF GOT              exact
  rfm_reference.py compare-exact A B                   identical JSON objects keyed by customer
Exit status 0 when equal, 1 with a report of the first differences otherwise.
"""
import argparse
import json
import math
import sys

import pandas as pd

DAY = 86400000
WINDOW = 30 * DAY


def load_lines(path):
    """One row per order line of the first delivery of each order_id."""
    seen = set()
    rows = []
    opener = open
    if path.endswith(".gz"):
        import gzip
        opener = gzip.open
    with opener(path, "rt", encoding="utf-8") as f:
        for text in f:
            text = text.strip()
            if not text:
                continue
            o = json.loads(text)
            if "order_id" not in o and isinstance(o.get("value"), dict):
                o = o["value"]  # streamscore-tail line
            oid = o["order_id"]
            if oid in seen:
                continue
            seen.add(oid)
            cust = o.get("customer_id")
            if isinstance(cust, dict):  # Avro JSON union encoding {"string": "..."}
                cust = cust.get("string")
            for ln in o["lines"]:
                rows.append((oid, cust, o["store_id"], int(o["event_time"]), o.get("kind", "PURCHASE"),
                             ln["product_id"], int(ln["quantity"]), float(ln["unit_price"])))
    return pd.DataFrame(rows, columns=["order_id", "customer_id", "store_id", "event_time", "kind",
                                       "product_id", "quantity", "unit_price"])


def features(lines, as_of):
    """The batch RFM function: features of every customer as of T = as_of (event time, ms)."""
    lines = lines[lines["customer_id"].notna()].copy()
    lines["amount"] = lines["quantity"] * lines["unit_price"]
    orders = lines.groupby("order_id").agg(customer_id=("customer_id", "first"),
                                           event_time=("event_time", "first"),
                                           kind=("kind", "first"), amount=("amount", "sum"))
    orders = orders[orders["event_time"] <= as_of]
    pur = orders[orders["kind"] == "PURCHASE"]
    ret = orders[orders["kind"] == "RETURN"]
    g = pur.groupby("customer_id")
    df = pd.DataFrame({
        "frequency": g.size(),
        "first": g["event_time"].min(),
        "last": g["event_time"].max(),
        "total_spent": g["amount"].sum(),
        "avg_order": g["amount"].mean(),
        "order_std": g["amount"].std(ddof=1),
    })
    df["order_std"] = df["order_std"].fillna(0.0)
    df["recency_days"] = (as_of - df["last"]) // DAY
    df["days_since_first_order"] = (df["last"] - df["first"]) // DAY
    df["purchase_frequency"] = df["frequency"] / (df["days_since_first_order"] + 1)
    recent = pur[pur["event_time"] >= as_of - WINDOW].groupby("customer_id").size()
    df["recent_orders_30d"] = recent.reindex(df.index).fillna(0).astype("int64")
    rg = ret.groupby("customer_id")
    rdf = pd.DataFrame({"return_count": rg.size(), "return_amount": rg["amount"].sum()})
    df = df.join(rdf, how="outer")
    out = []
    for cid, r in df.iterrows():
        has = not pd.isna(r["frequency"])
        out.append({
            "customer_id": cid,
            "as_of_ms": int(as_of),
            "recency_days": int(r["recency_days"]) if has else None,
            "frequency": int(r["frequency"]) if has else 0,
            "total_spent": float(r["total_spent"]) if has else 0.0,
            "avg_order": float(r["avg_order"]) if has else 0.0,
            "order_std": float(r["order_std"]) if has else 0.0,
            "days_since_first_order": int(r["days_since_first_order"]) if has else None,
            "purchase_frequency": float(r["purchase_frequency"]) if has else 0.0,
            "recent_orders_30d": int(r["recent_orders_30d"]) if has else 0,
            "return_count": 0 if pd.isna(r["return_count"]) else int(r["return_count"]),
            "return_amount": 0.0 if pd.isna(r["return_amount"]) else float(r["return_amount"]),
        })
    return out


def demand(lines, tz_offset_min):
    pur = lines[lines["kind"] == "PURCHASE"].copy()
    local = pur["event_time"] + tz_offset_min * 60000
    pur["day"] = pd.to_datetime(local // DAY * DAY, unit="ms").dt.strftime("%Y-%m-%d")
    g = pur.groupby(["store_id", "day", "product_id"])["quantity"].sum()
    return [{"store_id": s, "day": d, "product_id": p, "quantity": int(q)}
            for (s, d, p), q in g.items()]


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(t) for t in f if t.strip()]


EXACT = ["as_of_ms", "recency_days", "frequency", "days_since_first_order", "recent_orders_30d",
         "return_count"]
AMOUNTS = ["total_spent", "avg_order", "purchase_frequency", "return_amount"]


def close(a, b, rel=1e-9, floor=0.0):
    return abs(a - b) <= max(rel * max(abs(a), abs(b)), floor)


def report(errors, what, n):
    if errors:
        print("%s: %d differences (of %d), first ones:" % (what, len(errors), n))
        for e in errors[:20]:
            print("  " + e)
        return 1
    print("%s: %d records equal" % (what, n))
    return 0


def compare_features(ref_path, got_path):
    ref = {r["customer_id"]: r for r in read_jsonl(ref_path)}
    got = {}
    errors = []
    for r in read_jsonl(got_path):
        if r["customer_id"] in got:
            errors.append("customer %s printed twice" % r["customer_id"])
        got[r["customer_id"]] = r
    for cid in sorted(set(ref) - set(got)):
        errors.append("customer %s missing" % cid)
    for cid in sorted(set(got) - set(ref)):
        errors.append("customer %s unexpected" % cid)
    for cid in sorted(set(ref) & set(got)):
        a, b = ref[cid], got[cid]
        for k in EXACT:
            if a[k] != b[k]:
                errors.append("customer %s %s: ref %r got %r" % (cid, k, a[k], b[k]))
        for k in AMOUNTS:
            if not close(a[k], b[k]):
                errors.append("customer %s %s: ref %r got %r" % (cid, k, a[k], b[k]))
        # A std of (near) zero has no meaningful relative error: bound it by the amounts' scale.
        if not close(a["order_std"], b["order_std"], floor=1e-9 * max(1.0, abs(a["avg_order"]))):
            errors.append("customer %s order_std: ref %r got %r" % (cid, a["order_std"], b["order_std"]))
    return report(errors, "features", len(ref))


def compare_demand(ref_path, got_path):
    def keyed(path):
        d = {}
        for r in read_jsonl(path):
            d[(r["store_id"], r["day"], r["product_id"])] = r["quantity"]
        return d
    ref, got = keyed(ref_path), keyed(got_path)
    errors = []
    for k in sorted(set(ref) | set(got)):
        if ref.get(k) != got.get(k):
            errors.append("%s: ref %r got %r" % ("/".join(k), ref.get(k), got.get(k)))
    return report(errors, "demand", len(ref))


def compare_exact(a_path, b_path):
    a = {r["customer_id"]: r for r in read_jsonl(a_path)}
    b = {r["customer_id"]: r for r in read_jsonl(b_path)}
    errors = []
    for cid in sorted(set(a) | set(b)):
        if a.get(cid) != b.get(cid):
            errors.append("customer %s:\n    %s\n    %s" % (cid, a.get(cid), b.get(cid)))
    return report(errors, "state", len(a))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cmd", choices=["features", "demand", "compare-features", "compare-demand",
                                    "compare-exact"])
    ap.add_argument("a")
    ap.add_argument("b", nargs="?")
    ap.add_argument("--as-of", type=int, default=None, help="as-of epoch ms (default: latest event)")
    ap.add_argument("--tz-offset-min", type=int, default=0)
    args = ap.parse_args()
    if args.cmd == "compare-features":
        return compare_features(args.a, args.b)
    if args.cmd == "compare-demand":
        return compare_demand(args.a, args.b)
    if args.cmd == "compare-exact":
        return compare_exact(args.a, args.b)
    lines = load_lines(args.a)
    if args.cmd == "features":
        as_of = args.as_of if args.as_of is not None else int(lines["event_time"].max())
        recs = features(lines, as_of)
    else:
        recs = demand(lines, args.tz_offset_min)
    out = sys.stdout
    for r in recs:
        out.write(json.dumps(r) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
