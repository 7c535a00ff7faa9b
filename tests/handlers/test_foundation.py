"""The foundation end to end: roles and refusals, /status, the command menu, the error handler,
one-off jobs that survive a restart, and the reply router — through the real PTB stack."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from telegram.ext import CommandHandler

from bot.app import build_application, build_features, running
from bot.runtime.feature import Command, Feature, ReplyRoute
from bot.runtime.roles import ADMINS, INBOX
from bot.store.state import Store
from handlers import replies
from tests.fakes.miogram import FakeMioGram
from tests.fakes.resont import FakeResont
from tests.harness import (
    ADMIN,
    ADMIN_CHAT,
    AGENT,
    MIOGRAM_SECRET,
    RESONT_TOKEN,
    STRANGER,
    bot_running,
    test_config,
)


def _texts(backend, chat=ADMIN_CHAT) -> list[str]:
    return [m.get("text") or m.get("caption") or "" for m in backend.bot_messages(chat)]


async def _wait_text(backend, fragment: str, chat=ADMIN_CHAT, timeout: float = 10.0) -> dict:
    await backend.wait_for(lambda: any(fragment in t for t in _texts(backend, chat)), timeout=timeout)
    return next(m for m in backend.bot_messages(chat) if fragment in (m.get("text") or ""))


async def test_stranger_command_and_button_are_refused(telegram):
    async with bot_running(telegram, resont=FakeResont(token=RESONT_TOKEN)):
        telegram.user_sends(STRANGER, ADMIN_CHAT, "/status")
        await _wait_text(telegram, "only works for its team")
        # The same stranger again: refused silently (no spam), and nothing else answers.
        telegram.user_sends(STRANGER, ADMIN_CHAT, "/help")
        telegram.user_sends(ADMIN, ADMIN_CHAT, "/help")
        await _wait_text(telegram, "What you can do here")
        assert sum("only works for its team" in t for t in _texts(telegram)) == 1

        card = await _admin_message_with_button(telegram)
        query = telegram.user_presses(STRANGER, ADMIN_CHAT, card["message_id"], "post:approve:1", force=True)
        await telegram.wait_for(lambda: telegram.callback_answer(query) is not None)
        answer = telegram.callback_answer(query)
        assert "not for your role" in answer["text"] and answer["show_alert"]


async def _admin_message_with_button(backend) -> dict:
    """Any bot message in the admin chat to press a (forged) button on."""
    return backend.bot_messages(ADMIN_CHAT)[-1]


async def test_role_limits_commands_and_buttons(botapi):
    async with bot_running(botapi, resont=FakeResont(token=RESONT_TOKEN)):
        botapi.user_sends(AGENT, ADMIN_CHAT, "/status")
        await _wait_text(botapi, "may not use /status")
        message = botapi.bot_messages(ADMIN_CHAT)[-1]
        query = botapi.user_presses(AGENT, ADMIN_CHAT, message["message_id"], "post:approve:7", force=True)
        await botapi.wait_for(lambda: botapi.callback_answer(query) is not None)
        assert "not for your role" in botapi.callback_answer(query)["text"]
        forged = botapi.user_presses(ADMIN, ADMIN_CHAT, message["message_id"], "zz:evil:" + "x" * 40, force=True)
        await botapi.wait_for(lambda: botapi.callback_answer(forged) is not None)
        assert "no longer valid" in botapi.callback_answer(forged)["text"]


async def test_help_lists_commands_by_role(botapi):
    async with bot_running(botapi, resont=FakeResont(token=RESONT_TOKEN)):
        botapi.user_sends(AGENT, ADMIN_CHAT, "/help")
        agent_help = (await _wait_text(botapi, "What you can do here"))["text"]
        assert "/status" not in agent_help and "/help" in agent_help
        botapi.user_sends(ADMIN, ADMIN_CHAT, "/help")
        await botapi.wait_for(lambda: sum("What you can do here" in t for t in _texts(botapi)) == 2)
        admin_help = [t for t in _texts(botapi) if "What you can do here" in t][-1]
        assert "/status" in admin_help


async def test_status_reports_upstreams_and_commands_are_registered(botapi):
    resont, mio = FakeResont(token=RESONT_TOKEN), FakeMioGram(secret=MIOGRAM_SECRET)
    async with bot_running(botapi, resont=resont, miogram=mio):
        names = {c["command"] for c in botapi.commands()}
        assert {"start", "help", "status", "cancel"} <= names
        botapi.user_sends(ADMIN, ADMIN_CHAT, "/status")
        text = (await _wait_text(botapi, "Status"))["text"]
        assert "Resont: reachable" in text and "MioGram: reachable" in text
        assert "State: memory" in text
        assert "backup" in names

        resont.faults.add("status", status=500, times=10, match="GET me")
        mio.secret = "changed-elsewhere"  # the bot's secret is now invalid: 801
        botapi.user_sends(ADMIN, ADMIN_CHAT, "/status")
        await botapi.wait_for(lambda: sum("Status" in t for t in _texts(botapi)) == 2, timeout=30)
        text = [t for t in _texts(botapi) if "Status" in t][-1]
        assert "Resont: not reachable" in text and "MioGram: not reachable" in text
        assert RESONT_TOKEN not in text and MIOGRAM_SECRET not in text


async def test_status_without_miogram_says_how_to_enable(botapi):
    async with bot_running(botapi, resont=FakeResont(token=RESONT_TOKEN), miogram_secret=""):
        botapi.user_sends(ADMIN, ADMIN_CHAT, "/status")
        text = (await _wait_text(botapi, "Status"))["text"]
        assert "MIOGRAM_SECRET" in text


def _failing_feature() -> Feature:
    async def explode(update, context):
        raise RuntimeError(f"kaboom with {RESONT_TOKEN}")

    return Feature(
        name="boom", handlers=[CommandHandler("boom", explode)], commands=[Command("boom", ADMINS, "core.cmd_help")]
    )


async def test_error_handler_tells_admins_in_one_line_without_secrets(botapi):
    config = test_config(botapi.base_url, telegram_token=botapi.token)
    features = [*build_features(config)[:-1], _failing_feature(), build_features(config)[-1]]
    app = build_application(
        config, store=Store.memory(), resont_transport=FakeResont(token=RESONT_TOKEN).transport(), features=features
    )
    async with running(app):
        botapi.user_sends(ADMIN, ADMIN_CHAT, "/boom")
        text = (await _wait_text(botapi, "Something failed"))["text"]
        assert "RuntimeError" in text and "kaboom" in text
        assert RESONT_TOKEN not in text and "Traceback" not in text and "\n" not in text.strip()


async def test_scheduled_job_survives_restart(botapi, tmp_path):
    ran: list[dict] = []

    async def remind(context, data):
        ran.append(data)

    def feature() -> Feature:
        return Feature(name="remind", scheduled={"remind": remind})

    config = test_config(botapi.base_url, telegram_token=botapi.token)
    path = tmp_path / "state.json"
    app = build_application(
        config,
        store=Store.open(path),
        resont_transport=FakeResont(token=RESONT_TOKEN).transport(),
        features=[feature()],
    )
    async with running(app):
        when = datetime.now(UTC) + timedelta(hours=1)
        app.bot_data.services.scheduler.schedule("remind", when, {"n": 1}, key="r1")
        overdue = datetime.now(UTC) - timedelta(seconds=1)
        app.bot_data.services.store.table("scheduled").put(
            "r2", {"kind": "remind", "run_at": overdue.timestamp(), "data": {"n": 2}}
        )
    assert ran == []
    app = build_application(
        config,
        store=Store.open(path),
        resont_transport=FakeResont(token=RESONT_TOKEN).transport(),
        features=[feature()],
    )
    async with running(app):
        for _ in range(100):
            if ran:
                break
            await asyncio.sleep(0.05)
        assert ran == [{"n": 2}]  # the overdue one ran at once after the restart
        pending = dict(app.bot_data.services.scheduler.pending())
        assert set(pending) == {"r1"}


async def test_reply_router_checks_addressee_and_role(botapi):
    answers: list[tuple[int, str, dict]] = []

    async def on_answer(update, context, target):
        answers.append((update.effective_user.id, update.effective_message.text, target["data"]))

    async def ask_cmd(update, context):
        await replies.ask(context, ADMIN_CHAT, "Why?", kind="test.why", user_id=update.effective_user.id, data={"x": 1})

    feature = Feature(
        name="ask",
        handlers=[CommandHandler("ask", ask_cmd)],
        commands=[Command("ask", INBOX, "core.cmd_help")],
        replies={"test.why": ReplyRoute(INBOX, on_answer)},
    )
    config = test_config(botapi.base_url, telegram_token=botapi.token)
    features = [*build_features(config)[:-1], feature, build_features(config)[-1]]
    app = build_application(
        config, store=Store.memory(), resont_transport=FakeResont(token=RESONT_TOKEN).transport(), features=features
    )
    async with running(app):
        botapi.user_sends(AGENT, ADMIN_CHAT, "/ask")
        prompt = await _wait_text(botapi, "Why?")
        botapi.user_sends(ADMIN, ADMIN_CHAT, "because admin", reply_to=prompt["message_id"])
        await _wait_text(botapi, "asked of someone else")
        botapi.user_sends(AGENT, ADMIN_CHAT, "because agent", reply_to=prompt["message_id"])
        await botapi.wait_for(lambda: answers)
        assert answers == [(AGENT, "because agent", {"x": 1})]
        # Answered prompts are closed: a second answer is not routed.
        botapi.user_sends(AGENT, ADMIN_CHAT, "again", reply_to=prompt["message_id"])
        botapi.user_sends(AGENT, ADMIN_CHAT, "/cancel")
        await _wait_text(botapi, "Nothing to cancel")
        assert len(answers) == 1


@pytest.mark.parametrize("language", ["en", "fa"])
async def test_start_answers_in_configured_language(botapi, language):
    async with bot_running(botapi, resont=FakeResont(token=RESONT_TOKEN), language=language):
        botapi.user_sends(ADMIN, ADMIN_CHAT, "/start")
        fragment = "Your role" if language == "en" else "نقش شما"
        await _wait_text(botapi, fragment)
