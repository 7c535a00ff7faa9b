"""A /newpost proposal in progress: the conversation's states, the draft kept in ``user_data``,
and the texts and buttons every step uses."""

from __future__ import annotations

import functools
import html
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, NamedTuple, NotRequired, TypedDict

from telegram import CallbackQuery, InlineKeyboardMarkup, Update

from bot.runtime.context import Context
from bot.runtime.tg.buttons import button
from bot.runtime.tg.callback import ButtonData
from bot.runtime.tg.quiet import edit_quietly, quietly
from bot.runtime.update_parts import MissingPart, query_of
from handlers import replies
from handlers.posts.buttons import CancelProposal
from handlers.posts.media import MediaItem

MEDIA, CAPTION, ACCOUNTS, TIME, CONFIRM = range(5)


def user_data_of(context: Context) -> dict[Any, Any]:
    """The proposing user's data, where the draft is kept (a /newpost update has a user)."""
    if context.user_data is None:
        raise MissingPart("a /newpost update without a user")
    return context.user_data


class AccountChoice(NamedTuple):
    """An account to pick: its id, name and network, and whether it needs a re-login."""

    id: int
    name: str
    network: str
    relogin: bool


class GroupChoice(NamedTuple):
    """An account group to pick (all its members at once)."""

    id: int
    name: str
    members: list[int]


class Choices(TypedDict):
    """What the account picker offers, read from Resont once per proposal."""

    accounts: list[AccountChoice]
    groups: list[GroupChoice]


class Draft(TypedDict):
    """A proposal in progress: its files, caption, picked accounts (``page``: the picker's
    page of accounts) and time (None: as soon as possible). ``group_id`` is the Telegram album
    its files came in; ``told_full`` says the author heard the album is full; ``submitted``
    that Submit went through."""

    media: list[MediaItem]
    caption: str
    group_id: str | None
    accounts: list[int]
    page: int
    choices: Choices | None
    when: float | None
    told_full: NotRequired[bool]
    submitted: NotRequired[bool]


def draft_of(context: Context) -> Draft:
    data = user_data_of(context)
    draft: Draft | None = data.get("newpost")
    if draft is None:
        draft = data["newpost"] = new_draft()
    return draft


def start_draft(context: Context) -> None:
    """A new, empty proposal (one left unfinished is dropped)."""
    user_data_of(context)["newpost"] = new_draft()


def drop_draft(context: Context) -> None:
    """The proposal is over (submitted, cancelled, or impossible)."""
    user_data_of(context).pop("newpost", None)


def new_draft() -> Draft:
    return {"media": [], "caption": "", "group_id": None, "accounts": [], "page": 0, "choices": None, "when": None}


def escaped(values: Mapping[str, str]) -> dict[str, str]:
    """A media refusal's values (file names, types) made safe for an HTML message."""
    return {name: html.escape(str(value)) for name, value in values.items()}


def text_for(context: Context, update: Update, key: str, **values: Any) -> str:
    user_id = update.effective_user.id if update.effective_user else None
    return context.services.t(key, user_id, **values)


Step = Callable[[Update, Context], Coroutine[Any, Any, "int | None"]]


def unless_a_reply(step: Step) -> Step:
    """A reply to one of the bot's questions or cards goes to the reply router instead of
    ``step`` (an admin can answer a "reason?" prompt in the middle of a proposal)."""

    @functools.wraps(step)
    async def wrapper(update: Update, context: Context) -> int | None:
        message = update.effective_message
        if message is not None and message.reply_to_message is not None:
            store = context.services.store
            if replies.find_target(store, message.chat_id, message.reply_to_message.message_id) is not None:
                await replies.on_reply(update, context)
                return None
        return await step(update, context)

    return wrapper


def keyboard(rows: list[list[tuple[str, ButtonData]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[button(text, data) for text, data in row] for row in rows])


def cancel_row(context: Context, update: Update) -> list[tuple[str, ButtonData]]:
    return [(text_for(context, update, "posts.btn_cancel"), CancelProposal())]


async def drop_buttons(update: Update) -> None:
    """Remove the buttons of the message whose button was just used (it is done)."""
    await quietly(query_of(update).edit_message_reply_markup(InlineKeyboardMarkup([])), "remove used buttons")


async def edit_summary(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    await edit_quietly(query, text[:4096], markup or InlineKeyboardMarkup([]), what="update the proposal summary")
