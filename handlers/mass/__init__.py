"""Mass sends through MioGram: audience, content, preview, progress, reports."""

from handlers.mass.bridge import start_from_post
from handlers.mass.wiring import feature

#: ``start_from_post`` is the Bridge: the one entry point other features (posts) may use.
__all__ = ["feature", "start_from_post"]
