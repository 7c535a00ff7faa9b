"""The parts of an update a handler was routed for: its sender, its message, the button pressed.

A command or reply handler only ever sees updates that carry a message from a user, and a button
handler a callback query on a message the bot sent (the guard and the handler filters see to
that). Python-telegram-bot types them all as optional, so handlers read them through these
functions: a missing part is a routing mistake, raised as :class:`MissingPart` (the error
handler reports it) instead of surfacing as an ``AttributeError`` on ``None``.
"""

from __future__ import annotations

from telegram import CallbackQuery, Message, Update, User

__all__ = ["MissingPart", "chat_id_of", "message_of", "press_chat_id", "query_message", "query_of", "user_of"]


class MissingPart(LookupError):
    """The update lacks a part its handler needs (a routing mistake, not a user error)."""


def user_of(update: Update) -> User:
    """Who sent the update."""
    if update.effective_user is None:
        raise MissingPart(f"update {update.update_id} has no sender")
    return update.effective_user


def message_of(update: Update) -> Message:
    """The message the update carries (for a button: the message the button is on)."""
    if update.effective_message is None:
        raise MissingPart(f"update {update.update_id} has no message")
    return update.effective_message


def chat_id_of(update: Update) -> int:
    """The chat the update happened in (for a button: the chat of the message it is on)."""
    if update.effective_chat is None:
        raise MissingPart(f"update {update.update_id} has no chat")
    return update.effective_chat.id


def query_of(update: Update) -> CallbackQuery:
    """The button press the update carries."""
    if update.callback_query is None:
        raise MissingPart(f"update {update.update_id} is not a button press")
    return update.callback_query


def query_message(query: CallbackQuery) -> Message:
    """The message a pressed button is on (Telegram leaves it out when it is too old to reach)."""
    if not isinstance(query.message, Message):
        raise MissingPart(f"button press {query.id} has no accessible message")
    return query.message


def press_chat_id(query: CallbackQuery) -> int:
    """The chat of the message a pressed button is on (known even when the message is too old to
    reach)."""
    if query.message is None:
        raise MissingPart(f"button press {query.id} is not on a chat message")
    return query.message.chat.id
