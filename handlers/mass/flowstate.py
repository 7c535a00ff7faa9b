"""What the ``/mass`` conversation remembers between its steps, kept in the admin's ``user_data``
under one key per chat (a private chat and a group do not mix)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from telegram import Update

from bot.massjobs.docs import ContentDoc
from bot.massjobs.spool import drop_media
from bot.massjobs.storage import new_id
from bot.runtime.context import Context
from bot.runtime.update_parts import MissingPart, chat_id_of, message_of
from handlers.mass.common import Audience

KEY: Final = "mass_flow"


@dataclass(frozen=True)
class NumbersFile:
    """A file of numbers whose phone column is being asked for, with its label for the card and
    the columns found in it."""

    data: bytes
    label: str
    columns: list[str]


@dataclass
class FlowState:
    """One admin's draft in the making: its job id and where it is made, then what the steps gave."""

    job_id: str
    chat_id: int
    thread_id: int | None
    file: NumbersFile | None = None
    audience: Audience | None = None
    content: ContentDoc | None = None


def flow_key(update: object) -> str:
    """One flow per admin per chat."""
    chat = update.effective_chat if isinstance(update, Update) else None
    return f"{KEY}:{chat.id}" if chat is not None else KEY


def user_flows(context: Context) -> dict[Any, Any]:
    """The admin's ``user_data``, where the flows are kept."""
    if context.user_data is None:
        raise MissingPart("a /mass step without a user to keep its flow for")
    return context.user_data


def begin(context: Context, update: Update) -> FlowState:
    """A new flow in the update's chat (replacing any earlier one there)."""
    message = message_of(update)
    state = FlowState(new_id(), chat_id_of(update), message.message_thread_id if message.is_topic_message else None)
    user_flows(context)[flow_key(update)] = state
    return state


def flow_of(context: Context, update: Update) -> FlowState:
    """The flow of the update's chat (begun afresh if it has none)."""
    state = user_flows(context).get(flow_key(update))
    return state if isinstance(state, FlowState) else begin(context, update)


def end(context: Context, update: object) -> FlowState | None:
    """Forget the flow of the update's chat; returns it (None: there was none)."""
    state = user_flows(context).pop(flow_key(update), None)
    return state if isinstance(state, FlowState) else None


def drop_flow_media(context: Context, update: object) -> None:
    """Delete the file spooled for the flow of the update's chat, if any."""
    state = user_flows(context).get(flow_key(update))
    if isinstance(state, FlowState) and state.content is not None:
        drop_media(state.content["media"])
