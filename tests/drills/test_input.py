"""Bad input from users: fuzzed command arguments, phone lists and CSV files (Hypothesis),
forged callback data, huge messages, files over the limits. Each is answered clearly and
nothing crashes: no unhandled error, no ERROR logged by the bot, the bot still answers after.

The real application runs in a background thread (:class:`tests.drills.live.LiveBot`) for the
whole module against the Bot API emulator (flood control off, the bot's limiter windows shrunk:
rate limits are not what this drill is about) and the Resont and MioGram fakes; the examples
talk to it as Telegram users.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.clients.miogram.phones import PhoneFileError, parse_csv, parse_numbers
from handlers.mass import buttons as kinds
from tests.botapi import BotApiEmulator, FloodLimits, User, button_datas, text_of
from tests.drills.live import LiveBot
from tests.fakes.miogram import FakeMioGram
from tests.fakes.resont import FakeResont
from tests.harness import ADMIN, ADMIN_CHAT, AGENT, AUTHOR, MIOGRAM_SECRET, RESONT_TOKEN, STRANGER, TOKEN

pytestmark = pytest.mark.timeout(120)

ANSWER_TIMEOUT = 10.0
FUZZ = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
AGENT_USER = User(AGENT, "Agnes", "agnes")
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def live():
    emulator = BotApiEmulator(TOKEN, limits=FloodLimits.off()).start()
    resont = FakeResont(token=RESONT_TOKEN, page_size=20)
    account = resont.add_account("Brand Shop", "instagram")["id"]
    resont.add_account_post(account, "Our new collection")
    miogram = FakeMioGram(secret=MIOGRAM_SECRET)
    bot = LiveBot(emulator, resont=resont, miogram=miogram).start()
    limiter = bot.app.bot.rate_limiter
    limiter.group_window, limiter.private_window = 0.2, 0.05
    bot.resont, bot.miogram, bot.account = resont, miogram, account
    try:
        yield bot
    finally:
        bot.stop()
        emulator.stop()


def _last(emu: BotApiEmulator, chat: int) -> int:
    return max([m["message_id"] for m in emu.messages(chat)] or [0])


def answers(emu: BotApiEmulator, chat: int, after: int, timeout: float = ANSWER_TIMEOUT) -> list[dict[str, Any]]:
    """The bot's messages in ``chat`` after message ``after`` (waits for at least one)."""
    return emu.wait_for_sync(
        lambda: [m for m in emu.bot_messages(chat) if m["message_id"] > after],
        timeout=timeout,
        message=lambda: f"no answer in chat {chat} after #{after}",
    )


def say(emu: BotApiEmulator, user: Any, text: str, chat: int = ADMIN_CHAT, **kwargs: Any) -> list[dict[str, Any]]:
    sent = emu.user_sends(user, chat, text, **kwargs)
    return answers(emu, chat, sent["message_id"])


def commands(live: LiveBot) -> list[str]:
    names = sorted({c.name for f in live.app.bot_data.features for c in f.commands})
    return [n for n in names if n != "lang"]  # /lang fa would switch the admin's language


def no_crash(live: LiveBot) -> None:
    assert live.errors.messages() == [], live.errors.messages()
    assert not [m for m in live.botapi.bot_messages(ADMIN_CHAT) if "Something failed (ref" in text_of(m)]


def printable(max_size: int) -> st.SearchStrategy[str]:
    return st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=max_size)


# --- commands -------------------------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_fuzzed_command_arguments_are_answered(live, data):
    emu = live.botapi
    name = data.draw(st.sampled_from(commands(live)), label="command")
    args = data.draw(printable(300), label="args")
    text = f"/{name} {args}".strip()[:4096]
    said = say(emu, ADMIN, text)
    assert all(text_of(m) or m.get("document") or m.get("photo") for m in said)
    emu.user_sends(ADMIN, ADMIN_CHAT, "/cancel")  # leave a flow the command may have opened


@FUZZ
@given(user=st.sampled_from([AGENT, AUTHOR, STRANGER]), args=printable(100))
def test_fuzzed_commands_from_other_roles_never_crash(live, user, args):
    emu = live.botapi
    for name in ("mass", "status", "credits", "optout"):
        emu.user_sends(user, ADMIN_CHAT, f"/{name} {args}".strip())
    emu.user_sends(ADMIN, ADMIN_CHAT, "/help")
    answers(emu, ADMIN_CHAT, _last(emu, ADMIN_CHAT) - 1)
    no_crash(live)


# --- phone lists and files ------------------------------------------------------------------

_digits = "0123456789۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩"
_number_like = st.one_of(
    st.integers(0, 99_999_999).map(lambda n: f"0912{n:07d}"),
    st.integers(0, 9_999_999).map(lambda n: f"+98 912 {n:07d}"),
    st.text(_digits + "+-() .", min_size=1, max_size=18),
    printable(20),
)
phone_lists = (
    st.lists(_number_like, min_size=1, max_size=40)
    .flatmap(lambda items: st.sampled_from(["\n", ", ", ";", " ", "،", "\t"]).map(lambda sep: sep.join(items)))
    .filter(lambda text: text.strip() and len(text) <= 4096)
)


def _start_mass(emu: BotApiEmulator) -> dict[str, Any]:
    sent = emu.user_sends(ADMIN, ADMIN_CHAT, "/mass")
    # A late answer to the previous example may land first on a loaded machine: wait for the step.
    asks = emu.wait_for_sync(
        lambda: [
            m
            for m in emu.bot_messages(ADMIN_CHAT)
            if m["message_id"] > sent["message_id"] and "step 1 of 3" in text_of(m)
        ],
        timeout=ANSWER_TIMEOUT,
        message=lambda: f"/mass did not ask for the audience after #{sent['message_id']}",
    )
    return asks[-1]


def _cancel(emu: BotApiEmulator) -> None:
    said = say(emu, ADMIN, "/cancel")
    assert said


@FUZZ
@given(text=phone_lists)
def test_fuzzed_phone_lists_are_answered(live, text):
    emu = live.botapi
    ask = _start_mass(emu)
    said = say(emu, ADMIN, text, reply_to=ask["message_id"])
    assert any(text_of(m) for m in said)
    _cancel(emu)


def _csv_text(rows: list[list[str]], delimiter: str) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return buffer.getvalue()


csv_files = st.one_of(
    st.binary(max_size=3000),
    st.tuples(
        st.lists(st.lists(st.one_of(_number_like, printable(12)), min_size=1, max_size=5), min_size=1, max_size=30),
        st.sampled_from([",", ";", "\t", "|"]),
        st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1256"]),
    ).map(lambda t: _csv_text(t[0], t[1]).encode(t[2], errors="replace")),
)


@FUZZ
@given(data=csv_files, name=st.sampled_from(["numbers.csv", "list.txt", "x.tsv", "noext", "a.xlsx"]))
def test_fuzzed_audience_files_are_answered(live, data, name):
    emu = live.botapi
    ask = _start_mass(emu)
    sent = emu.user_sends_document(ADMIN, ADMIN_CHAT, data, filename=name, reply_to=ask["message_id"])
    said = answers(emu, ADMIN_CHAT, sent["message_id"])
    assert any(text_of(m) for m in said)
    _cancel(emu)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(data=csv_files, column=st.one_of(st.none(), printable(6)))
def test_the_csv_reader_takes_any_bytes(data, column):
    """Below the bot: any bytes and any column name give numbers or a PhoneFileError."""
    try:
        parsed, columns = parse_csv(data, "IR", column)
    except PhoneFileError:
        return
    assert isinstance(columns, list)
    assert len(set(parsed.valid)) == len(parsed.valid)
    reread = parse_numbers(parsed.valid, "IR")
    assert reread.valid == parsed.valid and not reread.invalid


# --- forged buttons -------------------------------------------------------------------------

_namespaces = ["mass", "lists", "optout", "cmt", "dm", "inbox", "post", "posts", "np", "ins", "lang", "dg", "x"]
forged = st.one_of(
    printable(64),
    st.builds(
        lambda ns, a, b: f"{ns}:{a}:{b}",
        st.sampled_from(_namespaces),
        printable(10),
        st.one_of(st.integers(-(10**12), 10**12).map(str), printable(10)),
    ),
    st.builds(
        lambda ns, a, b, c: f"{ns}:{a}:{b}:{c}",
        st.sampled_from(_namespaces),
        st.sampled_from(["go", "resend", "skip", "check", "rmiss", "r", "l", "d", "t", "ok", "a", "pick"]),
        st.text("0123456789abcdef", max_size=10),
        st.integers(-5, 10**6).map(str),
    ),
).filter(lambda d: 0 < len(d.encode("utf-8")) <= 64)


@FUZZ
@given(data=forged, user=st.sampled_from([ADMIN, AGENT, AUTHOR, STRANGER]))
def test_forged_callback_data_is_answered(live, data, user):
    emu = live.botapi
    target = next((m for m in reversed(emu.bot_messages(ADMIN_CHAT)) if m.get("text")), None)
    if target is None:
        target = say(emu, ADMIN, "/help")[-1]
    query = emu.user_presses(user, ADMIN_CHAT, target["message_id"], data, force=True)
    answer = emu.wait_for_sync(
        lambda: emu.callback_answer(query), timeout=ANSWER_TIMEOUT, message=f"the press of {data!r} was never answered"
    )
    assert answer is not None


# --- huge messages and files over the limits ------------------------------------------------


def test_a_message_over_the_mass_limit_is_refused_with_the_figures(live):
    emu = live.botapi
    ask = _start_mass(emu)
    step2 = say(emu, ADMIN, "09121234567\n09121234568", reply_to=ask["message_id"])[-1]
    huge = ("پیشنهاد ویژه " * 350)[:4096]  # 4,096 characters, over 7,000 UTF-8 bytes
    step3 = say(emu, ADMIN, huge, reply_to=step2["message_id"])[-1]
    query = emu.user_presses(ADMIN, ADMIN_CHAT, step3["message_id"], kinds.Channel("m").encode())
    preview = answers(emu, ADMIN_CHAT, step3["message_id"])[-1]
    assert emu.wait_for_sync(lambda: emu.callback_answer(query), timeout=ANSWER_TIMEOUT) is not None
    assert "too long" in text_of(preview) and "4,096" in text_of(preview), text_of(preview)
    assert not [d for d in button_datas(preview) if d.startswith(("mass:go:", "mass:sched:"))]


def test_a_huge_reply_to_a_comment_card_is_handled(live):
    """An agent answers a comment card with a 4,096-character text: the reply reaches Resont
    and the card (which quotes it) stays within Telegram's own limit."""
    emu, resont = live.botapi, live.resont
    live.run(_poll(live))
    resont.add_comment(live.account, "How long is delivery?", username="lena")
    live.run(_poll(live))
    card = emu.wait_for_sync(
        lambda: next((m for m in emu.bot_messages(ADMIN_CHAT) if "How long is delivery?" in text_of(m)), None),
        timeout=10,
    )
    huge = ("Delivery takes three to five days. " * 120)[:4096]
    emu.user_sends(AGENT_USER, ADMIN_CHAT, huge, reply_to=card["message_id"])
    emu.wait_for_sync(lambda: [c for c in resont.comments.values() if c["owner"]], timeout=10)
    assert [c["text"] for c in resont.comments.values() if c["owner"]] == [huge]
    emu.wait_for_sync(
        lambda: "replied by" in text_of(emu.message(ADMIN_CHAT, card["message_id"])),
        timeout=10,
        message="the card was not updated after a long reply",
    )
    no_crash(live)


async def _poll(live: LiveBot) -> None:
    from tests.drills.faults import cycle

    await cycle(live.app)


def test_an_audience_file_over_the_limit_is_refused_before_download(live):
    emu = live.botapi
    ask = _start_mass(emu)
    big = b"09121234567\n" * (3 * MIB // 12)  # 3 MB: over the 2 MB audience-file limit
    downloads = len(emu.requests_of("getFile"))
    sent = emu.user_sends_document(ADMIN, ADMIN_CHAT, big, filename="numbers.csv", reply_to=ask["message_id"])
    said = answers(emu, ADMIN_CHAT, sent["message_id"])
    assert any("too big" in text_of(m) and "2,097,152" in text_of(m) for m in said), [text_of(m) for m in said]
    assert len(emu.requests_of("getFile")) == downloads, "a file over the limit is not downloaded"
    _cancel(emu)


def test_mass_media_over_telegram_download_limit_is_refused(live):
    emu = live.botapi
    ask = _start_mass(emu)
    step2 = say(emu, ADMIN, "09121234567", reply_to=ask["message_id"])[-1]
    video = b"\x00\x00\x00\x18ftypmp42" + bytes(21 * MIB)  # 21 MB: Telegram lets bots download 20 MB
    sent = emu.user_sends_document(ADMIN, ADMIN_CHAT, video, filename="clip.mp4", reply_to=step2["message_id"])
    said = answers(emu, ADMIN_CHAT, sent["message_id"])
    assert any("too big" in text_of(m) and "20,971,520" in text_of(m) for m in said), [text_of(m) for m in said]
    _cancel(emu)


def test_a_dm_answer_with_a_file_over_the_limit_is_refused(live):
    emu, resont = live.botapi, live.resont
    conversation = resont.add_conversation(live.account, "omid")["id"]
    live.run(_poll(live))
    resont.add_message(conversation, "Send me the catalogue please")
    live.run(_poll(live))
    card = emu.wait_for_sync(
        lambda: next((m for m in emu.bot_messages(ADMIN_CHAT) if "Send me the catalogue please" in text_of(m)), None),
        timeout=10,
    )
    sent = emu.user_sends_document(
        AGENT_USER, ADMIN_CHAT, bytes(21 * MIB), filename="catalogue.pdf", reply_to=card["message_id"]
    )
    said = answers(emu, ADMIN_CHAT, sent["message_id"])
    assert any("too big" in text_of(m) for m in said), [text_of(m) for m in said]
    assert not resont.uploads, "nothing over the limit reaches Resont"


def test_no_input_crashed_the_bot(live):
    """Last: after everything above, no unhandled error and the bot still answers."""
    no_crash(live)
    assert "/status" in " ".join(text_of(m) for m in say(live.botapi, ADMIN, "/help"))
