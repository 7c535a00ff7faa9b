"""The bot's durable state: one Store/Table API over interchangeable storages."""
