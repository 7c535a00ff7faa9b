"""The Telegram test backends, driven by a tiny PTB Application over real HTTP.

Flows both backends serve run against both (the ``telegram`` fixture), so the home-made
emulator is checked against telegram-test-api; the rest is emulator-only.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaDocument,
    InputMediaPhoto,
    Update,
)
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters
from telegram.request import HTTPXRequest

from tests.botapi import FloodLimits, User, text_of
from tests.botapi.ptb import build_app, polling
from tests.botapi.tta import Unsupported
from tests.harness import test_config

ALICE = User(1, "Alice", "alice")
BOB = User(2, "Bob", "bob")
GROUP = -1001
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
    + (40).to_bytes(4, "big")
    + (30).to_bytes(4, "big")
    + b"\x08\x02\x00\x00\x00"
    + bytes(range(64))
)


def keyboard(*labels: str, prefix: str = "pick") -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=f"{prefix}:{label}") for label in labels]])


def echo_app(backend):
    """/echo repeats its arguments as a reply; /menu shows buttons; a press answers the query
    and edits the message (with an explicit new keyboard, so both backends agree)."""
    app = build_app(backend)

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text("echo: " + " ".join(context.args), do_quote=True)

    async def menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.effective_chat.send_message("Choose", reply_markup=keyboard("red", "blue"))

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        choice = query.data.split(":", 1)[1]
        await query.answer(f"you chose {choice}")
        await query.edit_message_text(f"Chosen: {choice}", reply_markup=keyboard("undo", prefix="undo"))

    async def forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        await query.answer()
        await query.delete_message()

    app.add_handler(CommandHandler("echo", echo))
    app.add_handler(CommandHandler("menu", menu))
    app.add_handler(CallbackQueryHandler(pressed, pattern=r"^pick:"))
    app.add_handler(CallbackQueryHandler(forget, pattern=r"^undo:"))
    return app


# --- flows both backends serve -----------------------------------------------------------------


async def test_command_gets_a_reply(telegram):
    async with polling(echo_app(telegram)):
        sent = telegram.user_sends(ALICE, None, "/echo hello world")
        reply = await telegram.wait_for_bot_message(ALICE.id, lambda m: m["text"] == "echo: hello world")
    assert reply["chat"]["id"] == ALICE.id
    assert reply["reply_to_message"]["message_id"] == sent["message_id"]
    assert [m["text"] for m in telegram.messages(ALICE.id)] == ["/echo hello world", "echo: hello world"]
    assert telegram.requests_of("sendMessage")[0].params["text"] == "echo: hello world"


async def test_button_press_answers_and_edits(telegram):
    async with polling(echo_app(telegram)):
        telegram.user_sends(BOB, None, "/menu")
        card = await telegram.wait_for_bot_message(BOB.id, lambda m: m["text"] == "Choose")
        assert [b["text"] for b in telegram.buttons(BOB.id, card["message_id"])[0]] == ["red", "blue"]
        query_id = telegram.user_presses(BOB, None, card["message_id"], "pick:blue")
        answer = await telegram.wait_for(lambda: telegram.callback_answer(query_id))
        edited = await telegram.wait_for(
            lambda: (
                text_of(telegram.message(BOB.id, card["message_id"])) == "Chosen: blue"
                and telegram.message(BOB.id, card["message_id"])
            )
        )
    assert answer["text"] == "you chose blue" and answer["show_alert"] is False
    assert edited["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "undo:undo"
    assert len(telegram.bot_messages(BOB.id)) == 1  # edited in place, not re-sent
    assert [r.method for r in telegram.requests_of("answerCallbackQuery", "editMessageText")] == [
        "answerCallbackQuery",
        "editMessageText",
    ]


async def test_press_button_by_label_then_delete(telegram):
    async with polling(echo_app(telegram)):
        telegram.user_sends(ALICE, None, "/menu")
        card = await telegram.wait_for_bot_message(ALICE.id, lambda m: m["text"] == "Choose")
        telegram.press_button(ALICE, None, card["message_id"], "red")
        await telegram.wait_for(lambda: text_of(telegram.message(ALICE.id, card["message_id"])) == "Chosen: red")
        telegram.press_button(ALICE, None, card["message_id"], "undo")
        await telegram.wait_for(lambda: telegram.message(ALICE.id, card["message_id"]) is None)
    assert telegram.bot_messages(ALICE.id) == []


async def test_group_command_addressed_to_this_bot_only(telegram):
    username = telegram.bot_user["username"]
    async with polling(echo_app(telegram)):
        telegram.user_sends(ALICE, GROUP, "/echo@SomeOtherBot ignored")
        telegram.user_sends(ALICE, GROUP, f"/echo@{username} in group")
        reply = await telegram.wait_for_bot_message(GROUP)
        await asyncio.sleep(0.2)
    assert reply["text"] == "echo: in group"
    assert [m["text"] for m in telegram.bot_messages(GROUP)] == ["echo: in group"]


async def test_user_side_refuses_a_button_that_is_not_there(telegram):
    async with polling(echo_app(telegram)):
        telegram.user_sends(ALICE, None, "/menu")
        card = await telegram.wait_for_bot_message(ALICE.id)
        with pytest.raises(LookupError):
            telegram.user_presses(ALICE, None, card["message_id"], "pick:green")


async def test_config_helper_points_at_the_backend(telegram, tmp_path):
    config = test_config(telegram, state_path=tmp_path / "state.json")
    assert config.telegram_base_url == telegram.base_url and config.telegram_token == telegram.token
    async with Bot(config.telegram_token, base_url=f"{config.telegram_base_url}/bot") as bot:
        assert bot.bot.is_bot and bot.bot.id == telegram.bot_id


# --- emulator only -----------------------------------------------------------------------------


async def test_photo_upload_is_downloaded_by_the_bot(botapi):
    app = build_app(botapi)

    async def on_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        file = await update.message.photo[-1].get_file()
        data = bytes(await file.download_as_bytearray())
        await update.message.reply_text(f"{len(data)} {hashlib.sha256(data).hexdigest()} {update.message.caption}")

    async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        doc = update.message.document
        data = bytes(await (await doc.get_file()).download_as_bytearray())
        await update.message.reply_text(f"{doc.file_name} {doc.mime_type} {data.decode()}")

    app.add_handler(MessageHandler(filters.PHOTO, on_photo))
    app.add_handler(MessageHandler(filters.Document.ALL, on_document))
    async with polling(app):
        botapi.user_sends_photo(ALICE, None, PNG, caption="look")
        reply = await botapi.wait_for_bot_message(ALICE.id)
        botapi.user_sends_document(ALICE, GROUP, b"98912,98913\n", "numbers.csv")
        doc_reply = await botapi.wait_for_bot_message(GROUP)
    assert reply["text"] == f"{len(PNG)} {hashlib.sha256(PNG).hexdigest()} look"
    assert doc_reply["text"] == "numbers.csv text/csv 98912,98913\n"
    assert [r.method for r in botapi.requests_of("getFile", "file")] == ["getFile", "file"] * 2
    photo = botapi.messages(ALICE.id)[0]["photo"][-1]
    assert (photo["width"], photo["height"]) == (40, 30)


async def test_media_commands_and_captions(botapi):
    async with Bot(botapi.token, base_url=botapi.api_url, base_file_url=botapi.file_url) as bot:
        await bot.set_my_commands([BotCommand("status", "Is everything working")])
        assert botapi.commands() == [{"command": "status", "description": "Is everything working"}]
        assert [c.command for c in await bot.get_my_commands()] == ["status"]

        photo = await bot.send_photo(
            GROUP, PNG, caption="<b>draft</b>", parse_mode="HTML", reply_markup=keyboard("approve")
        )
        assert photo.caption == "draft" and photo.caption_entities[0].type == "bold"
        file_id = photo.photo[-1].file_id
        album = await bot.send_media_group(GROUP, [InputMediaPhoto(PNG, caption="one"), InputMediaPhoto(file_id)])
        assert len({m.media_group_id for m in album}) == 1 and album[1].photo[-1].file_id == file_id
        docs = await bot.send_media_group(
            GROUP, [InputMediaDocument(b"a", filename="a.txt"), InputMediaDocument(b"b", filename="b.txt")]
        )
        assert [d.document.file_name for d in docs] == ["a.txt", "b.txt"]
        video = await bot.send_video(GROUP, b"\x00\x00\x00\x18ftypmp42", caption="clip")
        document = await bot.send_document(ALICE.id, b"id,phone\n", filename="report.csv")
        assert video.video.file_id and document.document.file_name == "report.csv"

        edited = await bot.edit_message_caption(GROUP, photo.message_id, caption="approved")
        assert edited.caption == "approved" and edited.reply_markup is None  # keyboard dropped
        with pytest.raises(BadRequest, match="(?i)no text in the message"):
            await bot.edit_message_text("x", chat_id=GROUP, message_id=photo.message_id)
        with pytest.raises(BadRequest, match="(?i)wrong file identifier"):
            await bot.send_photo(GROUP, "not-a-file-id")
        assert await bot.send_chat_action(GROUP, "upload_photo")
        assert await bot.get_webhook_info()

    uploads = botapi.requests_of("sendMediaGroup")[0]
    assert len(uploads.files) == 1 and json.dumps(uploads.params["media"]).count("attach://") == 1
    assert botapi.file_bytes(file_id) == PNG
    kinds = [next(k for k in ("photo", "video", "document") if k in m) for m in botapi.bot_messages(GROUP)]
    assert kinds == ["photo", "photo", "photo", "document", "document", "video"]


async def test_telegram_behaviour_bots_get_wrong(botapi):
    async with Bot(botapi.token, base_url=botapi.api_url) as bot:
        with pytest.raises(BadRequest, match="(?i)can't parse entities"):
            await bot.send_message(ALICE.id, "1 < 2", parse_mode="HTML")
        with pytest.raises(BadRequest, match="(?i)reserved"):
            await bot.send_message(ALICE.id, "v1.2", parse_mode="MarkdownV2")
        ok = await bot.send_message(ALICE.id, "a &lt; <i>b</i> (ok)", parse_mode="HTML")
        assert ok.text == "a < b (ok)" and ok.entities[0].offset == 4
        with pytest.raises(BadRequest, match="(?i)message is too long"):
            await bot.send_message(ALICE.id, "x" * 4097)
        with pytest.raises(BadRequest, match="(?i)BUTTON_DATA_INVALID"):
            await bot.send_message(ALICE.id, "x", reply_markup=keyboard("y" * 70))
        card = await bot.send_message(ALICE.id, "card", reply_markup=keyboard("a"))
        with pytest.raises(BadRequest, match="(?i)not modified"):
            await bot.edit_message_text(
                "card", chat_id=ALICE.id, message_id=card.message_id, reply_markup=keyboard("a")
            )
        plain = await bot.edit_message_text("card v2", chat_id=ALICE.id, message_id=card.message_id)
        assert plain.reply_markup is None  # an edit without reply_markup drops the keyboard
        with pytest.raises(BadRequest, match="(?i)message to edit not found"):
            await bot.edit_message_text("x", chat_id=ALICE.id, message_id=999)
        with pytest.raises(BadRequest, match="(?i)replied not found"):
            await bot.send_message(ALICE.id, "x", reply_to_message_id=999)
        mine = botapi.user_sends(ALICE, None, "hi")
        with pytest.raises(BadRequest, match="(?i)can't be edited"):
            await bot.edit_message_text("x", chat_id=ALICE.id, message_id=mine["message_id"])
        botapi.block_bot(BOB)
        with pytest.raises(Forbidden, match="(?i)blocked by the user"):
            await bot.send_message(BOB.id, "x")
        with pytest.raises(InvalidToken, match="(?i)Not Found"):  # unknown method: 404 like Telegram
            await bot.set_chat_title(GROUP, "x")
    async with httpx.AsyncClient() as client:
        r = await client.post(f"{botapi.base_url}/bot1:wrong/getMe")
        assert r.status_code == 401 and r.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
        r = await client.get(f"{botapi.base_url}/bot{botapi.token}/getMe")
        assert r.json()["result"]["username"] == "test_bot"


async def test_bot_with_a_wrong_token_cannot_start(botapi):
    with pytest.raises(InvalidToken):
        async with Bot("999:wrong", base_url=botapi.api_url):
            pass


async def test_callback_query_can_be_answered_once_and_forged_data_is_possible(botapi):
    async with Bot(botapi.token, base_url=botapi.api_url) as bot:
        card = await bot.send_message(GROUP, "card", reply_markup=keyboard("a"))
        forged = botapi.user_presses(BOB, GROUP, card.message_id, "admin:delete-everything", force=True)
        updates = await bot.get_updates(timeout=1)
        assert updates[-1].callback_query.data == "admin:delete-everything"
        assert await bot.answer_callback_query(forged, text="no", show_alert=True)
        with pytest.raises(BadRequest, match="(?i)query is too old"):
            await bot.answer_callback_query(forged)
    assert botapi.callback_answer(forged) == {"text": "no", "show_alert": True, "url": None, "cache_time": None}


async def test_get_updates_offsets_long_polling_and_conflicts(botapi):
    async with Bot(botapi.token, base_url=botapi.api_url) as bot:
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert await bot.get_updates(timeout=0.3) == ()
        assert loop.time() - started >= 0.25
        waiting = asyncio.create_task(bot.get_updates(timeout=5))
        await asyncio.sleep(0.1)
        botapi.user_sends(ALICE, None, "first")
        (first,) = await asyncio.wait_for(waiting, 2)  # long poll woke up on the new update
        botapi.user_sends(ALICE, None, "second")
        assert [u.message.text for u in await bot.get_updates()] == ["first", "second"]  # unconfirmed
        rest = await bot.get_updates(offset=first.update_id + 1)
        assert [u.message.text for u in rest] == ["second"]
        assert await bot.get_updates(offset=rest[-1].update_id + 1) == ()
        # allowed_updates filters, and sticks for later calls
        botapi.user_sends(ALICE, None, "/menu")
        card = await bot.send_message(ALICE.id, "c", reply_markup=keyboard("x"))
        botapi.user_presses(ALICE, None, card.message_id, "pick:x")
        only = await bot.get_updates(allowed_updates=["callback_query"])
        assert [u.callback_query.data for u in only] == ["pick:x"]
        # a second poller terminates the first one with 409
        old = asyncio.create_task(bot.get_updates(offset=only[-1].update_id + 1, timeout=5))
        await asyncio.sleep(0.1)
        async with Bot(botapi.token, base_url=botapi.api_url) as second_instance:
            await second_instance.get_updates(offset=only[-1].update_id + 1)
        with pytest.raises(Conflict, match="(?i)terminated by other getUpdates"):
            await asyncio.wait_for(old, 2)


async def test_forum_topics_and_reply_threads(botapi):
    botapi.add_chat(GROUP, title="Ops", is_forum=True)
    topic = botapi.create_topic(GROUP, "Comments")
    async with Bot(botapi.token, base_url=botapi.api_url) as bot:
        card = await bot.send_message(GROUP, "new comment", message_thread_id=topic)
        assert card.message_thread_id == topic and card.is_topic_message
        assert card.reply_to_message.forum_topic_created.name == "Comments"  # Telegram's topic quirk
        plain = botapi.user_sends(ALICE, GROUP, "not a reply", thread_id=topic)
        reply = botapi.user_sends(ALICE, GROUP, "answer", reply_to=card.message_id)
        with pytest.raises(BadRequest, match="(?i)thread not found"):
            await bot.send_message(GROUP, "x", message_thread_id=424242)
    assert plain["reply_to_message"]["message_id"] == topic  # looks like a reply to the topic root
    assert reply["reply_to_message"]["message_id"] == card.message_id
    assert reply["message_thread_id"] == topic


async def test_flood_control_answers_429_past_the_limit(botapi):
    botapi.set_limits(group=5, group_window=2.0, overall=30, overall_window=1.0)
    request = HTTPXRequest(connection_pool_size=64)
    async with Bot(botapi.token, base_url=botapi.api_url, request=request) as bot:
        for i in range(5):
            await bot.send_message(GROUP, f"m{i}")
        with pytest.raises(RetryAfter) as excinfo:
            await bot.edit_message_text("edits count", chat_id=GROUP, message_id=1)
        assert 1 <= excinfo.value._retry_after.total_seconds() <= 2
        await bot.send_message(-1002, "another group is not limited by this one")
        assert botapi.too_many_requests == 1 and botapi.too_many_requests_by_chat == {GROUP: 1}
        # overall: 30 a second across chats
        results = await asyncio.gather(*(bot.send_message(100 + i, "hi") for i in range(40)), return_exceptions=True)
        assert any(isinstance(r, RetryAfter) for r in results)
    failed = [r for r in botapi.requests_of("sendMessage", "editMessageText") if r.status == 429]
    assert failed and all(r.error.startswith("Too Many Requests: retry after ") for r in failed)
    botapi.set_limits(FloodLimits.off())
    async with Bot(botapi.token, base_url=botapi.api_url, request=HTTPXRequest(connection_pool_size=64)) as bot:
        await asyncio.gather(*(bot.send_message(GROUP, "unlimited") for _ in range(40)))


async def test_bot_in_a_subprocess(botapi):
    """A bot in another process reaches the emulator by URL (how benchmarks run the real bot)."""
    script = textwrap.dedent(
        """
        import asyncio, sys
        from telegram.ext import ApplicationBuilder, CommandHandler
        async def ping(update, context):
            await update.message.reply_text("pong")
        async def main():
            root, token = sys.argv[1], sys.argv[2]
            app = ApplicationBuilder().token(token).base_url(root + "/bot").build()
            app.add_handler(CommandHandler("ping", ping))
            async with app:
                await app.updater.start_polling(timeout=1)
                await app.start()
                print("started", flush=True)
                await asyncio.sleep(30)
        asyncio.run(main())
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script, botapi.base_url, botapi.token],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        await botapi.wait_for(lambda: botapi.requests_of("getUpdates"), timeout=15)
        botapi.user_sends(ALICE, None, "/ping")
        reply = await botapi.wait_for_bot_message(ALICE.id, timeout=10)
        assert reply["text"] == "pong"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()


# --- telegram-test-api only --------------------------------------------------------------------


async def test_tta_answers_unsupported_methods_with_an_error(tta):
    async with Bot(tta.token, base_url=tta.api_url) as bot:
        with pytest.raises(NetworkError):
            await bot.set_my_commands([BotCommand("status", "x")])
        with pytest.raises(NetworkError):
            await bot.send_photo(ALICE.id, PNG)
    with pytest.raises(Unsupported):
        tta.user_sends_photo(ALICE, None, PNG)
    assert [r.method for r in tta.requests_of("setMyCommands", "sendPhoto")] == ["setMyCommands", "sendPhoto"]
