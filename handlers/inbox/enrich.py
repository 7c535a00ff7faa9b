"""What Resont adds to a claimed item before its card is drawn: account names (cached), the
comment's post and commenter, a message's conversation and direction."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from bot.clients.resont.errors import ResontError, ResontNotFound
from handlers.inbox import snapshots

if TYPE_CHECKING:
    from bot.runtime.services import Services
    from handlers.inbox.runtime import InboxRuntime

log = logging.getLogger(__name__)

ACCOUNTS_TTL = 600.0


def is_own_comment(item: dict[str, Any], accounts: dict[int, dict[str, Any]]) -> bool:
    """A comment written by the account itself (a reply made in Resont's panel, say)."""
    account_id = item.get("account_id")
    info = accounts.get(account_id) if account_id is not None else None
    identifier = (info or {}).get("identifier")
    username = item.get("username")
    return bool(identifier and username and identifier.lower().lstrip("@") == username.lower().lstrip("@"))


async def cached_accounts(services: Services, rt: InboxRuntime) -> dict[int, dict[str, Any]]:
    """The accounts by id (name, network, identifier), cached for ``ACCOUNTS_TTL`` seconds; the
    last known ones when Resont fails."""
    now = time.monotonic()
    if rt.accounts and now - rt.accounts_at < ACCOUNTS_TTL:
        return rt.accounts
    try:
        accounts = await services.resont.accounts.all()
    except ResontError as exc:
        log.warning("inbox: accounts unavailable for cards: %s", exc)
        return rt.accounts
    rt.accounts = {a.id: snapshots.account_info(a) for a in accounts if a.id is not None}
    rt.accounts_at = now
    return rt.accounts


def _fill_account(item: dict[str, Any], accounts: dict[int, dict[str, Any]]) -> None:
    account_id = item.get("account_id")
    info = accounts.get(account_id) if account_id is not None else None
    if not info:
        return
    if not item.get("account"):
        item["account"] = info.get("account")
    if not item.get("network"):
        item["network"] = info.get("network")


async def enrich_comment(services: Services, record: dict[str, Any], accounts: dict[int, dict[str, Any]]) -> None:
    """Add the post excerpt, permalink and commenter to a comment record (once), and its account."""
    item = record["item"]
    resont = services.resont
    if not record.get("enriched"):
        try:
            post = await resont.comments.post(item["id"])
            item["post_excerpt"] = snapshots.excerpt(post.content, snapshots.POST_EXCERPT_MAX) if post.content else None
            item["permalink"] = post.permalink
            if item.get("account_id") is None:
                item["account_id"] = post.account_id
            if not item.get("network"):
                item["network"] = post.social
        except ResontError as exc:
            log.info("inbox: no post for comment %s: %s", item["id"], exc)
        if not item.get("username") and not item.get("name") and item.get("social_user_id") is not None:
            try:
                user = await resont.comments.social_user(item["social_user_id"])
                item["username"], item["name"] = user.username, user.name
            except ResontError as exc:
                log.info("inbox: no commenter for comment %s: %s", item["id"], exc)
        record["enriched"] = True
    _fill_account(item, accounts)
    record["account_id"] = item.get("account_id")


async def resolve_message(
    services: Services, record: dict[str, Any], accounts: dict[int, dict[str, Any]], cache: dict[int, Any]
) -> str:
    """Make sure a message record knows its conversation and direction.
    Returns "ok", "skip" (sent by the account itself / gone) or "later" (Resont failed)."""
    if record.get("outbound") is True:
        return "skip"
    conversation_id = record.get("conversation_id")
    if record.get("conversation") is None or record.get("check_direction"):
        if conversation_id is None:
            return "skip"
        conversation = cache.get(conversation_id)
        if conversation is None:
            try:
                conversation = await services.resont.conversations.get(conversation_id)
            except ResontNotFound:
                return "skip"
            except ResontError as exc:
                log.warning("inbox: conversation %s unavailable: %s", conversation_id, exc)
                return "later"
            cache[conversation_id] = conversation
        sender = record["message"].get("social_user_id")
        if record.get("check_direction") and record.get("outbound") is None:
            if sender is not None and conversation.participant_ids and sender not in conversation.participant_ids:
                return "skip"
        record["conversation"] = snapshots.conversation_item(conversation, conversation_id, sender)
        record["check_direction"] = False
    _fill_account(record["conversation"], accounts)
    return "ok"
