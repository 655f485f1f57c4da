#!/bin/bash
# One-shot topic creation for docker-compose (runs in the apache/kafka image). Idempotent
# (--if-not-exists). Partition counts match streamscore-stack's defaults: transactions 12 (the
# features service scales out to 12 instances), *.dlq 3, everything else 6. Replication 1: the
# compose cluster has one broker.
set -euo pipefail
BOOTSTRAP=${BOOTSTRAP:-kafka:9092}
KT=/opt/kafka/bin/kafka-topics.sh
create() { # name partitions [--config k=v ...]
    local name=$1 parts=$2
    shift 2
    "$KT" --bootstrap-server "$BOOTSTRAP" --create --if-not-exists --topic "$name" \
        --partitions "$parts" --replication-factor 1 "$@"
}
create transactions 12 --config retention.ms=604800000
create transactions.dlq 3 --config retention.ms=2592000000
create customer-features 6
create churn-scores 6
create recommendations 6 --config cleanup.policy=compact
create demand-forecasts 6
create drift-alerts 6
"$KT" --bootstrap-server "$BOOTSTRAP" --list
