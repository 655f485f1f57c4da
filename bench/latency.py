"""End-to-end latency of the scoring pipeline from Kafka message timestamps (bench/run helper).

    latency.py --brokers B --window LABEL:START_MS:END_MS [--window ...]
               [--txn-topic transactions] [--scores-topic churn-scores]

Reads both topics completely (every partition from the beginning, no group, up to the end
offsets seen at start). A Transaction's timestamp is its CreateTime, set by librdkafka when the
load producer called produce(); a ChurnScore's is set when the scorer called produce(). A score
with reason EVENT belongs to the transaction with the same (customer_id, event time =
features_as_of); its latency is score timestamp - transaction timestamp (ms resolution, one
clock: every process runs on this machine). Transactions are assigned to the window containing
their timestamp. Prints one JSON line per window: offered, matched, p50, p99, p999, max (ms),
and p50_first / p50_last, the median latency of the transactions of the first and of the last
fifth of the window: a queue that grows during the window (the rate is not sustained) shows as
p50_last well above p50_first.
Anonymous orders produce no score and are not counted. Standard library + confluent_kafka.
"""
import argparse
import json
import sys

from confluent_kafka import Consumer, TopicPartition

import bench_avro


def read_topic(brokers, topic, fn):
    c = Consumer({"bootstrap.servers": brokers, "group.id": "bench-latency-reader",
                  "enable.auto.commit": False, "enable.partition.eof": True})
    md = c.list_topics(topic, timeout=10)
    parts = sorted(md.topics[topic].partitions)
    todo = set()
    assign = []
    for p in parts:
        lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        if hi > lo:
            todo.add(p)
            assign.append(TopicPartition(topic, p, lo))
    ends = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in todo}
    c.assign(assign)
    while todo:
        for m in c.consume(num_messages=10000, timeout=1.0):
            if m.error():
                if m.error().code() == -191:  # _PARTITION_EOF
                    todo.discard(m.partition())
                continue
            fn(m)
            if m.offset() + 1 >= ends.get(m.partition(), 0):
                todo.discard(m.partition())
    c.close()


def pct(xs, q):
    if not xs:
        return None
    i = min(len(xs) - 1, max(0, int(round(q * (len(xs) - 1)))))
    return xs[i]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--brokers", required=True)
    ap.add_argument("--txn-topic", default="transactions")
    ap.add_argument("--scores-topic", default="churn-scores")
    ap.add_argument("--window", action="append", required=True)
    a = ap.parse_args()
    wins = []
    for w in a.window:
        label, s, e = w.rsplit(":", 2)
        wins.append((label, int(s), int(e)))

    sent = {}

    def on_txn(m):
        try:
            cid, t = bench_avro.decode_txn_key_time(m.value())
        except (bench_avro.AvroError, UnicodeDecodeError):
            return
        if cid is not None:
            sent.setdefault((cid, t), m.timestamp()[1])

    lat = {}

    def on_score(m):
        try:
            cid, _, as_of, reason = bench_avro.decode_score(m.value())
        except (bench_avro.AvroError, UnicodeDecodeError, IndexError):
            return
        if reason != "EVENT":
            return
        ts = sent.get((cid, as_of))
        if ts is not None and (cid, as_of) not in lat:
            lat[(cid, as_of)] = m.timestamp()[1] - ts

    read_topic(a.brokers, a.txn_topic, on_txn)
    read_topic(a.brokers, a.scores_topic, on_score)
    for label, s, e in wins:
        keys = [k for k, ts in sent.items() if s <= ts <= e]
        xs = sorted(lat[k] for k in keys if k in lat)
        fifth = (e - s) / 5.0
        first = sorted(lat[k] for k in keys if k in lat and sent[k] <= s + fifth)
        last = sorted(lat[k] for k in keys if k in lat and sent[k] >= e - fifth)
        print(json.dumps({"window": label, "offered": len(keys), "matched": len(xs),
                          "p50": pct(xs, 0.5), "p99": pct(xs, 0.99), "p999": pct(xs, 0.999),
                          "max": xs[-1] if xs else None,
                          "mean": sum(xs) / len(xs) if xs else None,
                          "p50_first": pct(first, 0.5), "p50_last": pct(last, 0.5)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
