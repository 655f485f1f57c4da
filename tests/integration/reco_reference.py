#!/usr/bin/python3
"""Independent batch implementation of the recommender's method (docs/recommendations.md), used by
tests/integration/test_recommender.sh to check the streaming service.

From Transaction events (streamscore-tail JSON lines), in batch:
  0. matrix M = customer x product of summed purchased quantities: PURCHASE orders of identified
     customers only, each order_id counted once (first delivery wins); RETURNs ignored;
  1. cosine between every two product columns: dot / sqrt(norm_a * norm_b) (scipy sparse M^T M in
     exact int64; the division in float64, the same IEEE operations the service does);
  2. for each product a customer bought, its 10 most similar OTHER products (cosine > 0, ties by
     product id; the product itself is excluded explicitly);
  3. every candidate not yet bought scores the sum of its cosines over those lists (summed over the
     bought products in product id order);
  4. the top N by score, ties by product id. No candidate at all (or no history): the popular
     products (most distinct buyers, ties by id) minus what the customer bought, method "popular".

Then, for a random sample of customers (plus a few unknown ids), it asks the lookup API
GET /v1/customers/{id}/recommendations?n=N and compares: same method, same products in the same
order, scores within 1e-9 relative. With --reco-events it also checks that one Recommendation
event was produced per applied purchase, keyed by its customer, and that every sampled customer has
one (an event is computed as of its purchase, so only its shape is checked). Exit status 0 when everything matches, 1 otherwise (differences printed).
"""
import argparse
import json
import math
import random
import sys
import urllib.parse
import urllib.request

import numpy as np
import scipy.sparse as sp


def load_events(path):
    """Applied purchases as (customer, product, quantity) rows, deduped by order id."""
    seen = set()
    rows = []
    orders = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            ev = json.loads(line)
            v = ev.get("value")
            if not v or v.get("kind", "PURCHASE") != "PURCHASE" or v.get("customer_id") is None:
                continue
            if v["order_id"] in seen:
                continue
            seen.add(v["order_id"])
            orders += 1
            for ln in v["lines"]:
                rows.append((v["customer_id"], ln["product_id"], int(ln["quantity"])))
    return rows, orders


class Batch:
    def __init__(self, rows, k):
        self.k = k
        custs = sorted({r[0] for r in rows})
        prods = sorted({r[1] for r in rows})  # code-point order == UTF-8 byte order == strcmp
        self.cix = {c: i for i, c in enumerate(custs)}
        self.pix = {p: i for i, p in enumerate(prods)}
        self.prods = prods
        ci = np.array([self.cix[r[0]] for r in rows], dtype=np.int64)
        pi = np.array([self.pix[r[1]] for r in rows], dtype=np.int64)
        q = np.array([r[2] for r in rows], dtype=np.int64)
        # duplicates are summed by the COO -> CSR conversion: summed purchased quantities
        self.M = sp.csr_matrix((q, (ci, pi)), shape=(len(custs), len(prods)), dtype=np.int64)
        self.M.sum_duplicates()
        self.C = (self.M.T @ self.M).tocsr()  # exact int64 dot products
        self.norm2 = self.C.diagonal().astype(np.int64)
        self.buyers = np.asarray((self.M > 0).sum(axis=0)).ravel()
        self.top = {}

    def neighbours(self, a):
        """Step 2 for product index a: [(b, cosine)], best first, ties by product id."""
        if a in self.top:
            return self.top[a]
        lo, hi = self.C.indptr[a], self.C.indptr[a + 1]
        nb = self.C.indices[lo:hi]
        dot = self.C.data[lo:hi]
        keep = (nb != a) & (dot > 0)  # the product itself is never its own neighbour
        nb, dot = nb[keep], dot[keep]
        cos = dot.astype(np.float64) / np.sqrt(
            np.float64(self.norm2[a]) * self.norm2[nb].astype(np.float64))
        order = np.lexsort((nb, -cos))[: self.k]  # product index order == product id order
        res = [(int(nb[i]), float(cos[i])) for i in order]
        self.top[a] = res
        return res

    def popular(self, exclude, n):
        order = sorted((i for i in range(len(self.prods)) if i not in exclude and self.buyers[i] > 0),
                       key=lambda i: (-int(self.buyers[i]), i))
        return [(self.prods[i], float(self.buyers[i])) for i in order[:n]]

    def recommend(self, customer, n):
        """Steps 2-4: ("item-cosine" | "popular", [(product, score)])."""
        if customer not in self.cix:
            return "popular", self.popular(set(), n)
        row = self.M.getrow(self.cix[customer])
        bought = sorted(int(i) for i in row.indices[row.data > 0])
        bset = set(bought)
        score = {}
        for a in bought:  # product id order: the sums are added in a fixed order
            for b, c in self.neighbours(a):
                if b not in bset:
                    score[b] = score.get(b, 0.0) + c
        if not score:
            return "popular", self.popular(bset, n)
        best = sorted(score.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
        return "item-cosine", [(self.prods[b], s) for b, s in best]


def close(a, b):
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b))


def compare(who, want, got_method, got_items, errors):
    method, items = want
    gi = [(it["product_id"], it["score"]) for it in got_items]
    if got_method != method or [p for p, _ in gi] != [p for p, _ in items] or not all(
            close(s, t) for (_, s), (_, t) in zip(gi, items)):
        errors.append(f"{who}: want {method} {items}\n      got  {got_method} {gi}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", required=True, help="streamscore-tail JSON lines of transactions")
    ap.add_argument("--url", required=True, help="http://127.0.0.1:PORT of the recommender")
    ap.add_argument("--sample", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--n", type=int, default=5)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--reco-events", help="streamscore-tail JSON lines of recommendations")
    args = ap.parse_args()

    rows, orders = load_events(args.events)
    b = Batch(rows, args.k)
    customers = sorted(b.cix)
    rnd = random.Random(args.seed)
    sample = rnd.sample(customers, min(args.sample, len(customers)))
    sample += ["no-such-customer-1", "no-such-customer-2"]
    errors = []
    methods = {}
    answers = {}
    for c in sample:
        want = b.recommend(c, args.n)
        url = f"{args.url}/v1/customers/{urllib.parse.quote(c, safe='')}/recommendations?n={args.n}"
        with urllib.request.urlopen(url, timeout=10) as r:
            got = json.load(r)
        answers[c] = got
        if got.get("customer_id") != c:
            errors.append(f"{c}: answer for {got.get('customer_id')!r}")
        compare(c, want, got.get("method"), got.get("items", []), errors)
        methods[want[0]] = methods.get(want[0], 0) + 1

    if args.reco_events:
        last = set()
        count = 0
        with open(args.reco_events, encoding="utf-8") as f:
            for line in f:
                ev = json.loads(line)
                v = ev["value"]
                count += 1
                if ev.get("key") != v["customer_id"]:
                    errors.append(f"event key {ev.get('key')!r} != customer {v['customer_id']!r}")
                last.add(v["customer_id"])
                if v["method"] not in ("item-cosine", "popular") or len(v["items"]) > args.n:
                    errors.append(f"malformed event {v}")
        if count != orders:
            errors.append(f"{count} Recommendation events for {orders} applied purchases")
        for c in sample:
            if c in b.cix and c not in last:
                errors.append(f"{c}: no Recommendation event")
        print(f"recommendation events: {count} for {orders} applied purchases")

    print(f"customers {len(customers)} products {len(b.prods)} cells {b.M.nnz} "
          f"pairs {(b.C.nnz - int((b.norm2 > 0).sum())) // 2}")
    print(f"compared {len(sample)} answers: {methods}; mismatches {len(errors)}")
    for e in errors[:20]:
        print("MISMATCH " + e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
