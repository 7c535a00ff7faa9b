"""Quiet edits and answers, and the bot's defaults, through PTB against the Bot API emulator."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackContext, CallbackQueryHandler, CommandHandler

from bot.runtime.tg.quiet import answer_quietly, defaults, edit_quietly
from tests.botapi.ptb import build_app, polling

ALICE = 11


async def test_edit_and_answer_quietly(botapi):
    """An edit to the same text is fine (True); an edit or an answer that fails is logged and
    reported (False) — the handler never raises."""
    results: dict[str, Any] = {}

    async def on_start(update: Update, context: CallbackContext) -> None:
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="go")]])
        await update.effective_message.reply_text("<b>Pick</b> one", reply_markup=markup)

    async def on_go(update: Update, context: CallbackContext) -> None:
        query = update.callback_query
        results["first"] = await edit_quietly(query, "<b>Done</b> &amp; dusted")
        results["same"] = await edit_quietly(query.message, "<b>Done</b> &amp; dusted")
        results["broken"] = await edit_quietly(query, "<b>unclosed", what="edit with bad HTML")
        results["answer"] = await answer_quietly(query, "x" * 500)  # cut to Telegram's 200
        results["again"] = await answer_quietly(query, "twice")  # Telegram refuses a second answer

    app = build_app(botapi, defaults=defaults())
    app.add_handler(CommandHandler("start", on_start))
    app.add_handler(CallbackQueryHandler(on_go, pattern="^go$"))
    async with polling(app):
        botapi.user_sends(ALICE, None, "/start")
        message = await botapi.wait_for_bot_message(ALICE, lambda m: m.get("text") == "Pick one")
        assert message["entities"][0]["type"] == "bold"  # HTML by default
        assert message["link_preview_options"] == {"is_disabled": True}
        query = botapi.user_presses(ALICE, None, message["message_id"], "go")
        await botapi.wait_for(lambda: "again" in results)
        assert botapi.callback_answer(query)["text"] == "x" * 200
    assert results == {"first": True, "same": True, "broken": False, "answer": True, "again": False}
    assert botapi.message(ALICE, message["message_id"])["text"] == "Done & dusted"
