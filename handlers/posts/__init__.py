"""Post approvals: cards, decisions, edits, /newpost, lists."""

from handlers.posts.wiring import feature

__all__ = ["feature"]
