"""Sustained rate of a service from its Prometheus /metrics counters (bench/run helper).

    metrics_rate.py --port P [--port P2 ...] --metric NAME [--metric NAME2 ...] --target N
                    [--base B] [--max-seconds S] [--timeout S] [--interval S]

Polls every port's /metrics every `interval` seconds (default 0.02) and sums the named counters
(all label sets) over every port. The clock starts at the first poll that sees a non-zero sum
(the first micro-batch is thus excluded, and so is the consumer group join) and stops at the
first poll where the sum reaches `target`. With --base B, sums are counted from B (counters of a
service that already did work) and the clock starts when the sum exceeds B. With --max-seconds S
the measurement stops after S seconds (a time-boxed rate; "boxed": true). Prints one JSON line:
{"events": counted after the start, "seconds": ..., "rate": ..., "total": final sum}.
Exit 3 (with the JSON, "timeout": true) when the target is not reached in time.
--dump prints {metric: current sum} for every --metric once and exits (no --target needed).
Standard library only (/usr/bin/python3).
"""
import argparse
import json
import sys
import time
import urllib.request


def scrape_all(port, names):
    """{name: sum over label sets} of the names found, or None when the port does not answer."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return None
    out = {}
    for line in text.splitlines():
        if not line or line[0] == "#":
            continue
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name in names:
            out[name] = out.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
    return out


def scrape(port, names):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return None
    total = 0.0
    for line in text.splitlines():
        if not line or line[0] == "#":
            continue
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name in names:
            total += float(line.rsplit(" ", 1)[1])
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, action="append", required=True)
    ap.add_argument("--metric", action="append", required=True)
    ap.add_argument("--target", type=float, default=0)
    ap.add_argument("--dump", action="store_true")
    ap.add_argument("--base", type=float, default=0)
    ap.add_argument("--max-seconds", type=float, default=0)
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--interval", type=float, default=0.02)
    a = ap.parse_args()
    names = set(a.metric)
    if a.dump:
        tot = {n: 0.0 for n in a.metric}
        for p in a.port:
            for k, v in (scrape_all(p, names) or {}).items():
                tot[k] += v
        print(json.dumps(tot))
        return 0
    deadline = time.monotonic() + a.timeout
    t0 = v0 = None
    v = 0.0
    while time.monotonic() < deadline:
        vals = [scrape(p, names) for p in a.port]
        now = time.monotonic()
        v = sum(x for x in vals if x is not None)
        if t0 is None and v > a.base:
            t0, v0 = now, v
        boxed = t0 is not None and a.max_seconds > 0 and now - t0 >= a.max_seconds
        if t0 is not None and (v >= a.target or boxed):
            secs = now - t0
            out = {"events": v - v0, "seconds": round(secs, 6), "total": v,
                   "rate": (v - v0) / secs if secs > 0 else 0.0, "boxed": v < a.target}
            print(json.dumps(out))
            return 0
        time.sleep(a.interval)
    print(json.dumps({"events": 0, "seconds": 0, "rate": 0, "total": v, "timeout": True}))
    return 3


if __name__ == "__main__":
    sys.exit(main())
