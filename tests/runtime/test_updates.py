"""One user's messages in one chat run in order; presses, other users and chats run concurrently."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from telegram import CallbackQuery, Chat, Message, Update, User

from bot.runtime.updates import PerUserOrderedUpdates, order_key

GROUP = Chat(-1001, "supergroup")
ALICE, BOB = User(1, "Alice", False), User(2, "Bob", False)


def message(update_id: int, user: User, text: str = "x") -> Update:
    return Update(update_id, message=Message(update_id, datetime.now(UTC), GROUP, from_user=user, text=text))


def press(update_id: int, user: User) -> Update:
    card = Message(99, datetime.now(UTC), GROUP)
    return Update(update_id, callback_query=CallbackQuery(str(update_id), user, "ci", message=card, data="a:b"))


def test_order_key_is_the_chat_and_the_user_of_a_message() -> None:
    assert order_key(message(1, ALICE)) == "-1001:1"
    assert order_key(message(3, BOB)) == "-1001:2"
    assert order_key(press(2, ALICE)) is None  # answered at once; cards have their own locks
    assert order_key("not an update") is None


async def test_one_users_updates_run_one_after_another() -> None:
    processor = PerUserOrderedUpdates()
    release_first = asyncio.Event()
    events: list[str] = []

    async def first() -> None:
        events.append("first started")
        await release_first.wait()
        events.append("first done")

    async def second() -> None:
        events.append("second started")

    one = asyncio.create_task(processor.process_update(message(1, ALICE), first()))
    two = asyncio.create_task(processor.process_update(message(2, ALICE, "answer"), second()))
    for _ in range(5):
        await asyncio.sleep(0)
    assert events == ["first started"]  # the answer waits for the step before it
    release_first.set()
    await asyncio.gather(one, two)
    assert events == ["first started", "first done", "second started"]


async def test_a_press_does_not_wait_for_the_same_users_message() -> None:
    processor = PerUserOrderedUpdates()
    pressed = asyncio.Event()

    async def typing() -> None:
        await asyncio.wait_for(pressed.wait(), timeout=10)

    async def pressing() -> None:
        pressed.set()

    await asyncio.gather(
        processor.process_update(message(1, ALICE), typing()),
        processor.process_update(press(2, ALICE), pressing()),
    )
    assert pressed.is_set()


async def test_other_users_run_concurrently() -> None:
    processor = PerUserOrderedUpdates()
    bob_ran = asyncio.Event()

    async def alice() -> None:
        # Finishes only once Bob's update ran: it would wait forever if they were serialised.
        await asyncio.wait_for(bob_ran.wait(), timeout=10)

    async def bob() -> None:
        bob_ran.set()

    await asyncio.gather(
        processor.process_update(message(1, ALICE), alice()),
        processor.process_update(message(2, BOB), bob()),
    )
    assert bob_ran.is_set()
