"""The Telegram toolkit every feature uses: typed callback data (:mod:`.callback`), one way to
route button presses (:mod:`.buttons`), quiet edits and answers and the bot's defaults
(:mod:`.quiet`)."""
