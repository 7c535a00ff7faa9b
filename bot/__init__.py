"""The Resont × MioGram chat-ops bot: ``python -m bot`` runs it (see ``bot.app`` for the wiring)."""
