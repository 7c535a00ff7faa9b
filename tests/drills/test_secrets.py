"""The log capture drill: the suite-wide capture (tests/drills/log_capture.py, registered in
tests/conftest.py) really sees the libraries' records, and the paths most likely to put a
secret in a log line – URLs with the Resont token in the query, the bot token in Bot API and
file-download paths, refused credentials, an exception quoting a secret – leave none in it.

The capture judges every record of the whole session at its end; these tests judge their own
records at once, so a leak points at the path that caused it.
"""

from __future__ import annotations

import logging

import pytest

from tests.botapi import User, text_of
from tests.drills.faults import cycle, drill_bot
from tests.drills.log_capture import WATCH
from tests.fakes.miogram import FakeMioGram
from tests.fakes.resont import FakeResont
from tests.harness import ADMIN, ADMIN_CHAT, AGENT, MIOGRAM_SECRET, RESONT_TOKEN

pytestmark = pytest.mark.timeout(60)

AGENT_USER = User(AGENT, "Agnes", "agnes")
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + (4).to_bytes(4, "big") * 2 + b"\x08\x02\x00\x00\x00" + bytes(32)


def _mine(request: pytest.FixtureRequest) -> list:
    return [hit for hit in WATCH.hits if hit.test == request.node.nodeid]


async def test_the_capture_sees_httpx_and_telegram_records(botapi, request):
    assert logging.getLogger().isEnabledFor(logging.DEBUG), "the capture runs at DEBUG"
    before = dict(WATCH.counts)
    fake = FakeResont(token=RESONT_TOKEN)
    fake.add_account("Brand Shop", "instagram")
    async with drill_bot(botapi, resont=fake) as app:
        await cycle(app)
        botapi.user_sends(ADMIN, ADMIN_CHAT, "/help")
        await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "/status" in text_of(m))
    grown = {name: WATCH.counts[name] - before.get(name, 0) for name in ("httpx", "telegram", "bot", "apscheduler")}
    assert grown["httpx"] > 0 and grown["telegram"] > 0 and grown["apscheduler"] > 0, grown
    assert RESONT_TOKEN in WATCH.secrets and botapi.token in WATCH.secrets
    assert _mine(request) == []


async def test_refused_credentials_and_failures_leave_no_secret_in_the_log(botapi, request):
    """Resont refusing the token (401 on every poll), MioGram refusing the secret (801), a
    dropped Resont connection and a handler crashing with the token in its message."""
    resont = FakeResont(token="the-real-resont-token")  # the bot's RESONT_TOKEN is wrong
    resont.add_account("Brand Shop", "instagram")
    miogram = FakeMioGram(secret="the-real-miogram-secret")  # so is its MIOGRAM_SECRET
    async with drill_bot(botapi, resont=resont, miogram=miogram) as app:
        await cycle(app)
        await cycle(app)
        resont.token = RESONT_TOKEN
        resont.faults.add("drop", times=10, match=r"^GET comment$")
        await cycle(app)
        botapi.user_sends(ADMIN, ADMIN_CHAT, "/credits")
        await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "MioGram" in text_of(m))
        logging.getLogger("bot.drill").error("a failure quoting %s and %s", RESONT_TOKEN, MIOGRAM_SECRET)
    assert _mine(request) == []


async def test_a_telegram_file_download_leaves_no_bot_token_in_the_log(botapi, request):
    """An agent answers a DM card with a photo: the bot downloads it from
    ``{root}/file/bot<token>/<path>`` (PTB percent-encodes the token's colon there)."""
    resont = FakeResont(token=RESONT_TOKEN)
    account = resont.add_account("Brand Shop", "instagram")["id"]
    conversation = resont.add_conversation(account, "kim")["id"]
    async with drill_bot(botapi, resont=resont) as app:
        await cycle(app)
        resont.add_message(conversation, "Can I see the label?")
        await cycle(app)
        card = await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "Can I see the label?" in text_of(m))
        botapi.user_sends_photo(AGENT_USER, ADMIN_CHAT, PNG, caption="Here it is", reply_to=card["message_id"])
        await botapi.wait_for(lambda: resont.uploads, timeout=10)
        assert app.bot_data.services is not None
    leaks = _mine(request)
    assert leaks == [], "\n".join(f"{h.logger} {h.level}: {h.what}: …{h.excerpt}…" for h in leaks)
