"""Button routing: declarations are checked, and forged or garbled presses get a clear answer
through the real bot (no traceback, no error report, the bot keeps answering)."""

from __future__ import annotations

import pytest

from bot.runtime.roles import ADMINS
from bot.runtime.tg.buttons import Buttons, step
from bot.runtime.tg.callback import ButtonData, Namespace
from tests.fakes.resont import FakeResont
from tests.harness import ADMIN, ADMIN_CHAT, RESONT_TOKEN, bot_running

ONE = Namespace("one")
TWO = Namespace("two")


class Ping(ButtonData, namespace=ONE, action="ping"):
    n: int


class Pong(ButtonData, namespace=ONE, action="pong"):
    pass


class Other(ButtonData, namespace=TWO, action="x"):
    pass


async def _handler(update, context, data) -> None:
    return None


def test_routes_must_be_of_their_namespace() -> None:
    Buttons(ONE, ADMINS, {Ping: _handler, Pong: _handler})
    with pytest.raises(ValueError, match="not a one button"):
        Buttons(ONE, ADMINS, {Other: _handler})


def test_a_step_takes_only_its_kinds() -> None:
    handler = step(Ping, _handler)
    assert handler.pattern("one:ping:3")
    assert not handler.pattern("one:pong")
    assert not handler.pattern("one:ping:x")  # garbled: left to the namespace's router
    assert not handler.pattern(None)
    both = step((Ping, Pong), _handler)
    assert both.pattern("one:pong") and both.pattern("one:ping:1")


#: (forged data, what the answer says) for every namespace a feature routes with the toolkit
FORGED = [
    ("lang:xx", "no longer valid"),
    ("lang:en:extra", "no longer valid"),
    ("lang:", "no longer valid"),
    ("lang", "no longer valid"),
    ("zz:evil:" + "x" * 40, "no longer valid"),
    ("lang:" + "e" * 70, "no longer valid"),  # over 64 bytes: no client sends it, a forger might
    ("cmt:l:abc", "no longer valid"),
    ("cmt:tg:1", "no longer valid"),
    ("cmt:zz:1", "no longer valid"),
    ("dm:l:1", "no longer valid"),
    ("dm:ok:1:2:3", "no longer valid"),
    ("inbox:x:", "no longer valid"),
    ("inbox:da:a:b", "no longer valid"),
    ("ins:acct:-1", "no longer valid"),
    ("ins:period:1:forever", "no longer valid"),
    ("ins:period:q1:week", "no longer valid"),
    ("post:ok:abc", "no longer valid"),
    ("post:ok:-3", "no longer valid"),
    ("post:approve:1", "no longer valid"),
    ("post:rsok:1:abc", "no longer valid"),
    ("post:capok:1", "no longer valid"),
    ("newpost:a:x", "not part of an active proposal"),  # /newpost's own words for a button outside a proposal
    ("newpost:zz", "not part of an active proposal"),
    ("mass:go", "This step is over"),  # the mass feature's own words, as before
    ("mass:resend:abc:x", "This step is over"),
    ("mass:aud:XYZ", "This step is over"),
    ("mass:ch:q", "This step is over"),
    ("mass:go:nosuchjob", "no longer exists"),  # well formed, but the job is unknown
    ("lists:zz:1", "This step is over"),
    ("optout:export", "This step is over"),
    ("oauth:nope", "no longer valid"),
    ("oauth:forget:now", "no longer valid"),
]


async def test_forged_and_garbled_presses_get_a_clear_answer(botapi):
    async with bot_running(botapi, resont=FakeResont(token=RESONT_TOKEN)):
        botapi.user_sends(ADMIN, ADMIN_CHAT, "/lang")
        menu = await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: m.get("reply_markup") or {})
        sent = len(botapi.bot_messages(ADMIN_CHAT))
        for data, fragment in FORGED:
            query = botapi.user_presses(ADMIN, ADMIN_CHAT, menu["message_id"], data, force=True)
            answer = await botapi.wait_for(lambda q=query: botapi.callback_answer(q))
            assert fragment in answer["text"] and answer["show_alert"], (data, answer)
        assert len(botapi.bot_messages(ADMIN_CHAT)) == sent  # no error report, nothing else said
        # the real button still works afterwards
        query = botapi.user_presses(ADMIN, ADMIN_CHAT, menu["message_id"], "lang:fa")
        answer = await botapi.wait_for(lambda: botapi.callback_answer(query))
        assert not answer["show_alert"]
