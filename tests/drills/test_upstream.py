"""Fault drills: each upstream misbehaving, the bot keeps running, retries where safe, tells the
admins once, and recovers by itself when the upstream does.

Upstreams: Resont (polled), MioGram (mass sends and reads), the Telegram Bot API (the emulator).
Faults: 429 with Retry-After, 500, a timeout, a refused connection, a dropped connection, a
non-JSON answer, truncated JSON. The real application runs in the test's event loop
(:func:`tests.drills.faults.drill_bot`); poll cycles are run by the drill so it knows what each
cycle saw; the clients' back-off sleeps are shortened, never skipped.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from handlers.mass.wiring import MassFeature
from tests.botapi import User, text_of
from tests.drills.faults import (
    TelegramFaults,
    alerts,
    cycle,
    drill_bot,
    job_names,
    recoveries,
    restart_on_same_port,
    texts,
    with_text,
)
from tests.drills.flows import go_button, mass_preview, report_of, settle_by_report, unknown_cards
from tests.fakes.miogram import FakeMioGram
from tests.fakes.resont import FakeResont
from tests.harness import ADMIN, ADMIN_CHAT, AGENT, MIOGRAM_SECRET, RESONT_TOKEN

pytestmark = pytest.mark.timeout(60)

AGENT_USER = User(AGENT, "Agnes", "agnes")

#: fault name → (FaultPlan kind, options); "refused" is the transport switch
UPSTREAM_FAULTS: dict[str, tuple[str, dict[str, Any]] | None] = {
    "429": ("status", {"status": 429, "retry_after": 1}),
    "500": ("status", {"status": 500}),
    "timeout": ("timeout", {}),
    "refused": None,
    "dropped": ("drop", {}),
    "non_json": ("non_json", {}),
    "truncated": ("truncated", {}),
}
FOREVER = 10**9


def inject(app: Any, fake: Any, switch_name: str, name: str, *, times: int = FOREVER, match: str | None = None) -> None:
    spec = UPSTREAM_FAULTS[name]
    if spec is None:
        switch = getattr(app.bot_data, switch_name)
        if times >= FOREVER:
            switch.refuse = True
        else:
            switch.refuse_next = times
        return
    kind, options = spec
    fake.faults.add(kind, times=times, match=match, **options)


def heal(app: Any, fake: Any, switch_name: str) -> None:
    fake.faults.clear()
    switch = getattr(app.bot_data, switch_name)
    switch.refuse, switch.refuse_next = False, 0


def resont_fake() -> tuple[FakeResont, int, int]:
    fake = FakeResont(token=RESONT_TOKEN, page_size=20)
    account = fake.add_account("Brand Shop", "instagram")["id"]
    conversation = fake.add_conversation(account, "dana")["id"]
    return fake, account, conversation


async def answered(botapi: Any, command: str) -> str:
    """Send ``command`` as the admin in the admin chat; the bot's next message there."""
    last = max([m["message_id"] for m in botapi.messages(ADMIN_CHAT)] or [0])
    botapi.user_sends(ADMIN, ADMIN_CHAT, command)
    message = await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: True, timeout=15, after=last + 1)
    return text_of(message)


# --- Resont -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(UPSTREAM_FAULTS))
async def test_a_resont_outage_is_one_alert_per_poll_and_heals_by_itself(botapi, name):
    fake, account, conversation = resont_fake()
    async with drill_bot(botapi, resont=fake) as app:
        await cycle(app)  # first start: cursors
        assert alerts(botapi) == []
        inject(app, fake, "drill_resont", name)
        await cycle(app)
        told = alerts(botapi)
        assert 1 <= len(told) <= len(job_names(app)), told  # one per failing poll
        for _ in range(4):
            await cycle(app)
        assert alerts(botapi) == told, "an ongoing outage must not be told again at every poll"
        assert "/status" in await answered(botapi, "/help")  # the bot keeps serving meanwhile

        heal(app, fake, "drill_resont")
        fake.add_comment(account, "comment after the outage", username="erin")
        fake.add_message(conversation, "dm after the outage")
        await cycle(app)
        assert len(recoveries(botapi)) == len(told)  # each incident closed once
        for _ in range(2):
            await cycle(app)
        assert alerts(botapi) == told and len(recoveries(botapi)) == len(told)
        assert len(with_text(botapi, "comment after the outage")) == 1
        assert len(with_text(botapi, "dm after the outage")) == 1
    waits = app.bot_data.drill_waits
    if name == "truncated":
        assert waits == []  # see test_a_truncated_resont_answer_costs_at_most_one_alert
    else:
        assert waits, "reads are retried before a poll gives up"
    if name == "429":
        assert 1.0 in waits, "Retry-After is honoured"


@pytest.mark.parametrize("name", [n for n in UPSTREAM_FAULTS if n != "truncated"])
async def test_a_one_off_resont_fault_is_retried_without_telling_anyone(botapi, name):
    fake, account, _ = resont_fake()
    async with drill_bot(botapi, resont=fake) as app:
        await cycle(app)
        fake.add_comment(account, "comment during a hiccup", username="finn")
        inject(app, fake, "drill_resont", name, times=1, match=r"^GET comment$")
        await cycle(app)
        assert alerts(botapi) == []
        assert len(with_text(botapi, "comment during a hiccup")) == 1
        assert app.bot_data.drill_waits, "the failed read was retried"


async def test_a_truncated_resont_answer_costs_at_most_one_alert(botapi):
    """A cut-off JSON answer is not retried by the client (bot/clients/resont/client.py ``_retryable`` treats
    ResontMalformed as final even for a GET): the poll fails once, the next one recovers."""
    fake, account, _ = resont_fake()
    async with drill_bot(botapi, resont=fake) as app:
        await cycle(app)
        fake.add_comment(account, "comment behind a garbled page", username="gus")
        inject(app, fake, "drill_resont", "truncated", times=1, match=r"^GET comment$")
        await cycle(app)
        await cycle(app)
        assert len(alerts(botapi)) <= 1 and len(recoveries(botapi)) == len(alerts(botapi))
        assert len(with_text(botapi, "comment behind a garbled page")) == 1


async def test_a_reply_is_not_repeated_after_a_500_but_is_after_a_429(botapi):
    """A POST that Resont may have acted on (500) is never repeated: the agent is told. One
    Resont surely refused (429 with Retry-After) is repeated after the wait."""
    fake, account, _ = resont_fake()
    async with drill_bot(botapi, resont=fake) as app:
        await cycle(app)
        comment = fake.add_comment(account, "Do you ship abroad?", username="hana")
        await cycle(app)
        card = (
            await botapi.wait_for(
                lambda: [m for m in botapi.bot_messages(ADMIN_CHAT) if "Do you ship abroad?" in text_of(m)]
            )
        )[0]
        replies = rf"^POST comment/{comment['id']}/reply$"

        fake.faults.add("status", status=500, times=1, match=replies)
        asked = botapi.user_sends(AGENT_USER, ADMIN_CHAT, "Yes, worldwide.", reply_to=card["message_id"])
        told = await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: True, timeout=10, after=asked["message_id"])
        assert text_of(told)
        assert len(fake.requests_to(replies)) == 1, "a reply that may have gone through is not repeated"
        assert not [c for c in fake.comments.values() if c["owner"]]

        fake.faults.add("status", status=429, retry_after=1, times=1, match=replies)
        botapi.user_sends(AGENT_USER, ADMIN_CHAT, "Yes, to 40 countries.", reply_to=card["message_id"])
        await botapi.wait_for(lambda: [c for c in fake.comments.values() if c["owner"]], timeout=10)
        assert len(fake.requests_to(replies)) == 3  # 500, then 429 + its retry
        assert [c["text"] for c in fake.comments.values() if c["owner"]] == ["Yes, to 40 countries."]
        assert 1.0 in app.bot_data.drill_waits


# --- MioGram ------------------------------------------------------------------------------------


def audience(count: int) -> list[str]:
    return [f"+98912{2_000_000 + i}" for i in range(count)]


@pytest.mark.parametrize("name", list(UPSTREAM_FAULTS))
async def test_a_failing_miogram_send_is_one_unknown_card_and_is_never_resent_blindly(botapi, name):
    """The gateway fails during a batch: the batch becomes "unknown" (one card), the send
    pauses, nothing is sent again on its own. After the gateway heals the admin checks
    MioGram's own report: numbers it shows as sent are taken as sent, the rest resent; every
    number reaches MioGram exactly once."""
    fake = FakeMioGram(secret=MIOGRAM_SECRET)
    numbers = audience(30)
    async with drill_bot(botapi, miogram=fake, resont=FakeResont(token=RESONT_TOKEN), mass_batch_size=10) as app:
        next(f.mass for f in app.bot_data.features if isinstance(f, MassFeature)).painter.interval = 0.0
        preview = await mass_preview(botapi, numbers)
        go = go_button(preview)
        job_id = go.split(":")[2]
        inject(app, fake, "drill_miogram", name, match="SendMessageMass")
        botapi.user_presses(ADMIN, ADMIN_CHAT, preview["message_id"], go)
        card = (await botapi.wait_for(lambda: unknown_cards(botapi), timeout=15))[0]
        attempts = len([r for r in fake.requests if r.arg("Func") == "SendMessageMass"])
        await asyncio.sleep(0.5)
        assert len(unknown_cards(botapi)) == 1, "one card for the batch, not one per attempt"
        assert len([r for r in fake.requests if r.arg("Func") == "SendMessageMass"]) == attempts, (
            "nothing is sent while the batch is unknown"
        )
        assert attempts <= 1 and len(fake.sent) <= 10

        heal(app, fake, "drill_miogram")
        choice = await settle_by_report(botapi, card, otherwise="resend")
        await report_of(botapi, job_id)
    sent = fake.sent_numbers()
    assert sorted(sent) == sorted(numbers), "every number reached MioGram exactly once"
    processed = name in ("timeout", "dropped", "truncated")  # the gateway acted, the answer was lost
    assert choice.startswith("mass:rmiss:") == processed


@pytest.mark.parametrize("name", list(UPSTREAM_FAULTS))
async def test_miogram_reads_are_retried_and_an_outage_is_answered_clearly(botapi, name):
    fake = FakeMioGram(secret=MIOGRAM_SECRET)
    async with drill_bot(botapi, miogram=fake, resont=FakeResont(token=RESONT_TOKEN)) as app:
        inject(app, fake, "drill_miogram", name, times=1, match="APIGetCredits")
        first = await answered(botapi, "/credits")
        retried = bool(app.bot_data.drill_waits)
        inject(app, fake, "drill_miogram", name, match="APIGetCredits")
        during = await answered(botapi, "/credits")
        assert "MioGram" in during and "Traceback" not in during and "message: 1,000" not in during
        heal(app, fake, "drill_miogram")
        after = await answered(botapi, "/credits")
        assert "message: 1,000" in after
    if retried:
        assert "message: 1,000" in first, "a read that was retried answers normally"
    else:  # a garbled answer is final for the client: the admin is told, and asks again
        assert name in ("truncated", "non_json") and "MioGram" in first


# --- Telegram -----------------------------------------------------------------------------------

TELEGRAM_FAULTS: dict[str, tuple[str, dict[str, Any]] | None] = {
    "429": ("status", {"status": 429, "retry_after": 1, "times": 2}),
    "500": ("status", {"status": 500}),
    "timeout": ("hang", {"delay": 6.0, "times": 1}),
    "refused": None,
    "dropped": ("drop", {}),
    "non_json": ("non_json", {}),
    "truncated": ("truncated", {"times": 1}),
}


@pytest.mark.parametrize("name", list(TELEGRAM_FAULTS))
async def test_a_failing_bot_api_loses_no_card_and_the_bot_recovers(botapi, name):
    fake, account, conversation = resont_fake()
    faults = TelegramFaults(botapi)
    try:
        async with drill_bot(botapi, resont=fake) as app:
            await cycle(app)
            for n in range(3):
                fake.add_comment(account, f"drill comment {n}", username=f"user{n}")
            fake.add_message(conversation, "drill dm 0")
            spec = TELEGRAM_FAULTS[name]
            if spec is None:  # the Bot API goes away (connections refused) during a poll cycle
                outage = threading.Thread(target=restart_on_same_port, args=(botapi, 1.5))
                outage.start()
                await asyncio.sleep(0.2)
                await cycle(app)
                await asyncio.to_thread(outage.join)
            else:
                kind, options = spec
                faults.add(kind, "sendMessage", **options)
                await cycle(app)
                await cycle(app)
                faults.clear()
            await cycle(app)
            await cycle(app)
            assert "/status" in await answered(botapi, "/help"), "the bot serves again"
            counts = {
                needle: len(with_text(botapi, needle))
                for needle in [f"drill comment {n}" for n in range(3)] + ["drill dm 0"]
            }
            assert all(c >= 1 for c in counts.values()), f"a card was lost: {counts}"
            lost_answers = 1 if name == "truncated" else 0  # Telegram took it; its answer was cut
            assert sum(counts.values()) - len(counts) <= lost_answers, f"a card was sent twice: {counts}"
            if name == "429":
                assert app.bot.rate_limiter.retried_after >= 2, "the 429's retry_after was obeyed"
            assert alerts(botapi) == [] or all("Resont" not in a for a in alerts(botapi))
    finally:
        faults.remove()


async def test_telegram_flood_control_is_obeyed_without_duplicates(botapi):
    """The Bot API is stricter than the bot's own limiter thinks (4 a second instead of 60 a
    minute): it answers 429 with retry_after; every card still arrives once."""
    botapi.set_limits(group=4, group_window=1.0)
    fake, account, _ = resont_fake()
    async with drill_bot(botapi, resont=fake, digest_threshold=50) as app:
        await cycle(app)
        for n in range(12):
            fake.add_comment(account, f"flood comment {n}", username=f"f{n}")
        await cycle(app)
        await cycle(app)
        counts = [
            len(with_text(botapi, f"flood comment {n}\n"))
            + len([t for t in texts(botapi) if t.endswith(f"flood comment {n}")])
            for n in range(12)
        ]
        assert botapi.too_many_requests >= 1
        assert app.bot.rate_limiter.retried_after >= 1
    assert all(c == 1 for c in counts), counts
