"""Mass sends through MioGram: audience, content, preview, progress, reports."""

from handlers.mass.wiring import feature

__all__ = ["feature"]
