"""Telegram-facing code: one module per feature, each exposing ``feature(config) -> Feature``."""
