"""API clients of the two upstream services; they know nothing of Telegram, the config or the store."""
