"""Inbox bridge: comments and DMs forwarded as cards, answered by reply."""

from handlers.inbox.wiring import feature

__all__ = ["feature"]
