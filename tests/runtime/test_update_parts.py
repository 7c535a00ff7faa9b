"""The parts of an update a handler reads: present ones are returned, a missing one is MissingPart."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from telegram import CallbackQuery, Chat, Message, Update, User

from bot.runtime.update_parts import MissingPart, chat_id_of

GROUP = Chat(-1001, "supergroup")
ALICE = User(1, "Alice", False)


def test_the_chat_of_a_message_and_of_a_press_on_a_card() -> None:
    message = Update(1, message=Message(7, datetime.now(UTC), GROUP, from_user=ALICE, text="hi"))
    card = Message(99, datetime.now(UTC), GROUP)
    press = Update(2, callback_query=CallbackQuery("2", ALICE, "ci", message=card, data="a:b"))
    assert chat_id_of(message) == -1001
    assert chat_id_of(press) == -1001


def test_an_update_without_a_chat_is_a_missing_part() -> None:
    inline_press = Update(3, callback_query=CallbackQuery("3", ALICE, "ci", inline_message_id="im", data="a:b"))
    with pytest.raises(MissingPart, match="update 3 has no chat"):
        chat_id_of(inline_press)
