"""The mass-send runner: batches, exactly-once bookkeeping, recovery. Never imports telegram."""
