"""The /mass flow's state in the admin's user_data: one flow per chat, begun, found, ended, and
its spooled file dropped."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from telegram import Chat, Message, Update, User
from telegram.ext import Application

from bot.runtime.context import Context
from handlers.mass.flowstate import FlowState, begin, drop_flow_media, end, flow_key, flow_of

ADMIN = User(1, "Admin", False)
PRIVATE, GROUP = Chat(1, "private"), Chat(-1001, "supergroup")


def command(update_id: int, chat: Chat, *, thread: int | None = None) -> Update:
    message = Message(
        update_id,
        datetime.now(UTC),
        chat,
        from_user=ADMIN,
        text="/mass",
        message_thread_id=thread,
        is_topic_message=thread is not None,
    )
    return Update(update_id, message=message)


def context() -> Context:
    return Context(Application.builder().token("1:x").build(), chat_id=PRIVATE.id, user_id=ADMIN.id)


def test_each_chat_has_its_own_flow() -> None:
    ctx = context()
    in_private, in_topic = command(1, PRIVATE), command(2, GROUP, thread=7)
    mine, theirs = begin(ctx, in_private), begin(ctx, in_topic)
    assert (mine.chat_id, mine.thread_id) == (1, None)
    assert (theirs.chat_id, theirs.thread_id) == (-1001, 7)
    assert mine.job_id != theirs.job_id
    assert flow_of(ctx, command(3, PRIVATE)) is mine
    assert flow_key(in_topic) == "mass_flow:-1001"
    assert end(ctx, in_private) is mine
    assert end(ctx, in_private) is None
    assert flow_of(ctx, in_topic) is theirs


def test_a_chat_without_a_flow_begins_one() -> None:
    ctx = context()
    state = flow_of(ctx, command(1, GROUP))
    assert isinstance(state, FlowState) and state.audience is None and state.content is None
    assert flow_of(ctx, command(2, GROUP)) is state


def test_the_flows_spooled_file_is_dropped(tmp_path: Path) -> None:
    ctx, update = context(), command(1, PRIVATE)
    spooled = tmp_path / "job.jpg"
    spooled.write_bytes(b"jpeg")
    begin(ctx, update).content = {
        "text": None,
        "media": {"ext": "jpg", "size": 4, "kind": "photo", "spool": str(spooled)},
    }
    drop_flow_media(ctx, command(2, GROUP))  # another chat's flow: none there
    assert spooled.exists()
    drop_flow_media(ctx, update)
    assert not spooled.exists()
