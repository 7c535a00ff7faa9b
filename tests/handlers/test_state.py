"""The state as the team sees it: /status names the store and says when the database is away,
an action the database could not take is answered "not saved", the bot carries on when it is
back; /backup sends the state without OAuth tokens. Through the real Telegram stack."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from bot.store.state import Store
from bot.store.transfer import parse_export
from tests.fakes.resont import FakeResont
from tests.harness import ADMIN, ADMIN_CHAT, RESONT_TOKEN, bot_running
from tests.pgserver import PostgresServer


def texts(botapi: Any, chat: int) -> list[str]:
    return [m.get("text", "") or m.get("caption", "") for m in botapi.bot_messages(chat)]


async def status(botapi: Any) -> str:
    before = sum("Status" in t for t in texts(botapi, ADMIN_CHAT))
    botapi.user_sends(ADMIN, ADMIN_CHAT, "/status")
    await botapi.wait_for(lambda: sum("Status" in t for t in texts(botapi, ADMIN_CHAT)) > before, timeout=30)
    return [t for t in texts(botapi, ADMIN_CHAT) if "Status" in t][-1]


async def test_the_database_going_away_is_shown_refused_and_survived(
    botapi: Any, pg_server: PostgresServer, database_url: str, fast_reconnect: None
) -> None:
    store = Store.postgres(database_url.replace("postgres@", "postgres:db-pass-123@"), wait=10)
    async with bot_running(botapi, resont=FakeResont(token=RESONT_TOKEN), store=store):
        text = await status(botapi)
        assert "State: PostgreSQL postgres@127.0.0.1:" in text and "db-pass-123" not in text
        botapi.user_sends(ADMIN, ADMIN, "/lang")  # the language keyboard, for a button press later
        menu = await botapi.wait_for(lambda: [m for m in botapi.bot_messages(ADMIN) if m.get("reply_markup")])

        await asyncio.to_thread(pg_server.stop)
        botapi.user_sends(ADMIN, ADMIN, "/lang fa")  # a command that writes
        await botapi.wait_for(lambda: any("Not saved" in t for t in texts(botapi, ADMIN)), timeout=30)
        assert store.table("users").get(str(ADMIN)) is None
        botapi.user_presses(ADMIN, ADMIN, menu[0]["message_id"], "lang:fa")  # a button that writes
        answer = await botapi.wait_for(
            lambda: [r for r in botapi.requests_of("answerCallbackQuery") if "Not saved" in str(r.params.get("text"))],
            timeout=30,
        )
        assert answer[0].params.get("show_alert") in (True, "true", "True")
        text = await status(botapi)
        assert "not reachable" in text and "Changes are refused" in text
        assert not [t for t in texts(botapi, ADMIN_CHAT) if "Something failed" in t]  # not reported as a bug

        await asyncio.to_thread(pg_server.start)
        await botapi.wait_for(lambda: store.available, timeout=30)
        botapi.user_sends(ADMIN, ADMIN, "/lang en")
        await botapi.wait_for(lambda: store.table("users").get(str(ADMIN)) == {"lang": "en"}, timeout=30)
        assert "State: PostgreSQL" in await status(botapi)
    again = Store.postgres(database_url, wait=10)
    assert again.table("users").get(str(ADMIN)) == {"lang": "en"}
    again.close()


async def test_backup_sends_the_state_without_oauth_tokens(botapi: Any) -> None:
    store = Store.memory()
    store.table("oauth").put("tokens", {"access_token": "AT-very-secret", "refresh_token": "RT-very-secret"})
    store.table("lists").put("vip", {"numbers": ["+989121234567"]})
    async with bot_running(botapi, resont=FakeResont(token=RESONT_TOKEN), store=store):
        botapi.user_sends(ADMIN, ADMIN_CHAT, "/backup")
        sent = await botapi.wait_for(lambda: [m for m in botapi.bot_messages(ADMIN_CHAT) if m.get("document")])
    message = sent[0]
    raw = botapi.file_bytes(message["document"]["file_id"])
    assert b"very-secret" not in raw
    export = parse_export(raw)
    assert export["tables"]["lists"] == {"vip": {"numbers": ["+989121234567"]}}
    assert "oauth" not in export["tables"] and export["left_out"] == ["oauth"]
    assert message["document"]["file_name"].startswith("state-backup-")
    assert "Left out because they are secrets: oauth" in message["caption"]
    assert "state import" in message["caption"]
    assert json.loads(raw)["source"].startswith("memory")
    audit = [doc for _, doc in store.table("audit").items() if doc["action"] == "state.backup"]
    assert len(audit) == 1 and audit[0]["actor"] == str(ADMIN)
