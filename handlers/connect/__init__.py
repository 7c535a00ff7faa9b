"""Connecting Resont by OAuth: /connect, /disconnect, the OAuth callback, the /status lines."""

from handlers.connect.wiring import feature

__all__ = ["feature"]
