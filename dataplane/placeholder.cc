// Replaced by the shard and backends.
