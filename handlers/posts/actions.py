"""Steps shared by the button and reply handlers of the posts feature.

Answering the press; checking that the card still waits for a decision; reading the post group
fresh from Resont before acting on it; making a Resont call that, when it fails, is shown on the
card (with its trace id) and answered to the admin; asking a force-reply question under a card.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from telegram import InlineKeyboardMarkup, Update, User

from bot.clients.resont.errors import ResontError, ResontNotFound
from bot.clients.resont.forms import PostEdit
from bot.clients.resont.post_models import Post, PostGroup
from bot.runtime.context import Context
from bot.runtime.services import Services
from bot.runtime.tg.quiet import answer_quietly, edit_quietly
from bot.runtime.update_parts import query_of
from handlers.posts.docs import FINAL_STATES, SENDING, ApprovalDoc
from handlers.posts.postview import fingerprint_of
from handlers.posts.state import (
    accounts,
    already,
    apply_fresh,
    audit,
    is_over,
    mark_gone,
    post_lock,
    redraw,
    status_of,
    table,
)
from handlers.replies import ask

log = logging.getLogger(__name__)


async def answer(update: Update, text: str | None = None, *, alert: bool = False) -> None:
    """Answer the button press (a toast, or an alert); a failure to answer is only logged."""
    query = update.callback_query
    if query is None:
        return
    await answer_quietly(query, text, alert=alert)


async def edit_pressed(
    update: Update,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    *,
    what: str = "edit a confirmation",
    **options: Any,
) -> None:
    """Edit the message whose button was pressed (a confirmation, a preview, an alert)."""
    query = update.callback_query
    assert query is not None
    await edit_quietly(query, text[:4096], markup or InlineKeyboardMarkup([]), what=what, **options)


async def ask_on_card(
    context: Context, doc: ApprovalDoc, user: User, text: str, *, kind: str, data: dict[str, Any]
) -> None:
    """A force-reply question to ``user``, under the card, whose answer goes to ``kind``."""
    services = context.services
    await ask(
        context,
        doc["chat_id"],
        text,
        kind=kind,
        user_id=user.id,
        data=data,
        thread_id=services.topic("approvals"),
        reply_to=doc.get("message_id"),
    )


def short_error(services: Services, exc: ResontError, user_id: int | None) -> str:
    if exc.trace_id:
        return services.t("posts.answer_resont_error_trace", user_id, error=exc.message, trace=exc.trace_id)
    return services.t("posts.answer_resont_error", user_id, error=exc.message)


async def pending_doc(update: Update, context: Context, pg: int) -> ApprovalDoc | None:
    """The card's document if it still waits for a decision; otherwise answer why not."""
    services = context.services
    user_id = query_of(update).from_user.id
    doc = table(services).get(pg)
    if doc is None or doc.get("state") == SENDING:
        await answer(update, services.t("posts.unknown_post", user_id), alert=True)
        return None
    if doc.get("state") in FINAL_STATES:
        await answer(update, already(services, doc, user_id), alert=True)
        return None
    return doc


@asynccontextmanager
async def locked_pending(update: Update, context: Context, pg: int) -> AsyncIterator[ApprovalDoc | None]:
    """Hold the post's lock, and give the card's document if it still waits (see
    :func:`pending_doc`): a decision acts on the card as it is once no one else decides."""
    async with post_lock(context.services, pg):
        yield await pending_doc(update, context, pg)


async def call_resont(
    update: Update, context: Context, doc: ApprovalDoc, action: str, call: Awaitable[Any]
) -> tuple[bool, Any]:
    """(True, result) of the Resont ``call``; (False, None) once a failure was told: a deleted
    post closes its card, any other error is shown on the card, which keeps its buttons."""
    services = context.services
    user_id = query_of(update).from_user.id
    try:
        return True, await call
    except ResontNotFound:
        await mark_gone(context, doc, user_id)
        await answer(update, services.t("posts.no_longer_exists", user_id), alert=True)
    except ResontError as exc:
        await show_error(context, doc, exc, user_id, action)
        await answer(update, short_error(services, exc, user_id), alert=True)
    return False, None


async def fresh(update: Update, context: Context, doc: ApprovalDoc, action: str) -> PostGroup | None:
    """The post group as Resont has it now, or None after telling the admin why not: it was
    deleted, closed, changed since the card was drawn, or Resont failed."""
    services = context.services
    user_id = query_of(update).from_user.id
    ok, result = await call_resont(update, context, doc, action, services.resont.posts.group(doc["pg"]))
    if not ok:
        return None
    group: PostGroup = result
    if is_over(group):
        status = status_of(group)
        await mark_gone(context, doc, user_id, status=status or None)
        await answer(update, services.t("posts.no_longer_waiting", user_id, status=status), alert=True)
        return None
    if fingerprint_of(group) != doc.get("fp"):
        apply_fresh(services, doc, group, accounts(services), note_key="posts.note_changed")
        table(services).put(doc)
        await redraw(context, doc)
        await answer(update, services.t("posts.changed_meanwhile", user_id), alert=True)
        return None
    return group


async def show_error(context: Context, doc: ApprovalDoc, exc: ResontError, user_id: int, action: str) -> None:
    """Keep the card actionable and show the Resont error with its trace id."""
    services = context.services
    doc["error"] = {"message": exc.message, "trace_id": exc.trace_id, "status": exc.status}
    table(services).put(doc)
    audit(
        services,
        user_id,
        action,
        doc["pg"],
        outcome="error",
        error=exc.message,
        trace_id=exc.trace_id,
        status=exc.status,
    )
    await redraw(context, doc)


async def edit_in_resont(
    update: Update,
    context: Context,
    doc: ApprovalDoc,
    group: PostGroup,
    action: str,
    change: Callable[[PostEdit], PostEdit],
) -> bool:
    """Send ``change`` of the whole post ``group`` (every required field with its current value,
    see :class:`PostEdit`) to Resont; False once a failure was told (as :func:`call_resont`)."""

    async def send() -> Post:
        return await context.services.resont.posts.edit(doc["pg"], change(PostEdit.of(group)))

    ok, _ = await call_resont(update, context, doc, action, send())
    return ok
