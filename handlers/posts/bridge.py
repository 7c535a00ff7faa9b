"""The bridge from an approved post to a MioGram mass send ("Also send to a list…").

An approved card keeps one button, ``post:mass:<post group id>``; pressing it starts the usual
mass-send flow (list picker → preview → confirm) with the post's caption and first image.
"""

from __future__ import annotations

from telegram import Update

import handlers.mass
from bot.runtime.context import Context
from bot.runtime.update_parts import query_of
from handlers.posts.actions import answer
from handlers.posts.buttons import SendToList
from handlers.posts.docs import APPROVED
from handlers.posts.postview import PostView
from handlers.posts.state import table


async def on_send_to_list(update: Update, context: Context, data: SendToList) -> None:
    """Start a mass send of approved post ``pg`` to a saved list."""
    pg = data.pg
    services = context.services
    user_id = query_of(update).from_user.id
    doc = table(services).get(pg)
    if doc is None or doc.get("state") != APPROVED:
        await answer(update, services.t("posts.unknown_post", user_id), alert=True)
        return
    await answer(update)
    view = PostView.from_doc(doc["view"])
    await handlers.mass.start_from_post(
        context,
        admin_id=user_id,
        chat_id=services.config.admin_chat_id,
        caption=view.caption.strip() or None,
        media=view.photo_url or None,
        thread_id=services.topic("mass"),
    )
