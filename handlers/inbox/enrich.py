"""What Resont adds to a claimed item before its card is drawn: account names (cached), the
comment's post and commenter, a message's conversation and direction."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from bot.clients.resont.errors import ResontError, ResontNotFound
from bot.clients.resont.inbox_models import Conversation
from bot.clients.resont.models import Account
from handlers.inbox import snapshots
from handlers.inbox.docs import CommentRecord, MessageRecord
from handlers.inbox.snapshots import CommentItem, Holder

if TYPE_CHECKING:
    from bot.runtime.services import Services
    from handlers.inbox.runtime import InboxRuntime

log = logging.getLogger(__name__)

ACCOUNTS_TTL = 600.0


def is_own_comment(item: CommentItem, accounts: Mapping[int, Account]) -> bool:
    """A comment written by the account itself (a reply made in Resont's panel, say)."""
    account_id = item["account_id"]
    account = accounts.get(account_id) if account_id is not None else None
    identifier = account.identifier if account is not None else None
    username = item["username"]
    return bool(identifier and username and identifier.lower().lstrip("@") == username.lower().lstrip("@"))


async def cached_accounts(services: Services, rt: InboxRuntime) -> dict[int, Account]:
    """The accounts by id, cached for ``ACCOUNTS_TTL`` seconds; the last known ones when Resont
    fails."""
    now = time.monotonic()
    if rt.accounts and now - rt.accounts_at < ACCOUNTS_TTL:
        return rt.accounts
    try:
        accounts = await services.resont.accounts.all()
    except ResontError as exc:
        log.warning("inbox: accounts unavailable for cards: %s", exc)
        return rt.accounts
    rt.accounts = {a.id: a for a in accounts if a.id is not None}
    rt.accounts_at = now
    return rt.accounts


def _fill_account(item: Holder, accounts: Mapping[int, Account]) -> None:
    account_id = item["account_id"]
    account = accounts.get(account_id) if account_id is not None else None
    if account is None:
        return
    if not item["account"]:
        item["account"] = account.name
    if not item["network"]:
        item["network"] = account.type


async def enrich_comment(services: Services, record: CommentRecord, accounts: Mapping[int, Account]) -> None:
    """Add the post excerpt, permalink and commenter to a comment record (once), and its account."""
    item = record["item"]
    if not record["enriched"]:
        await _add_post(services, item)
        await _add_commenter(services, item)
        record["enriched"] = True
    _fill_account(item, accounts)
    record["account_id"] = item["account_id"]


async def _add_post(services: Services, item: CommentItem) -> None:
    """The comment's post: its excerpt and link, and the account and network if still unknown."""
    try:
        post = await services.resont.comments.post(item["id"])
    except ResontError as exc:
        log.info("inbox: no post for comment %s: %s", item["id"], exc)
        return
    item["post_excerpt"] = snapshots.excerpt(post.content, snapshots.POST_EXCERPT_MAX) if post.content else None
    item["permalink"] = post.permalink
    if item["account_id"] is None:
        item["account_id"] = post.account_id
    if not item["network"]:
        item["network"] = post.social


async def _add_commenter(services: Services, item: CommentItem) -> None:
    """Who wrote the comment, when the comment itself did not say."""
    if item["username"] or item["name"] or item["social_user_id"] is None:
        return
    try:
        user = await services.resont.comments.social_user(item["social_user_id"])
    except ResontError as exc:
        log.info("inbox: no commenter for comment %s: %s", item["id"], exc)
        return
    item["username"], item["name"] = user.username, user.name


async def resolve_message(
    services: Services,
    record: MessageRecord,
    accounts: Mapping[int, Account],
    cache: dict[int, Conversation],
) -> str:
    """Make sure a message record knows its conversation and direction.
    Returns "ok", "skip" (sent by the account itself / gone) or "later" (Resont failed)."""
    if record["outbound"] is True:
        return "skip"
    conversation_id = record["conversation_id"]
    if conversation_id is None:  # (a record claimed with a conversation always has its id)
        return "skip"
    if record["conversation"] is None or record["check_direction"]:
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
        sender = record["message"]["social_user_id"]
        if record["check_direction"] and record["outbound"] is None:
            if sender is not None and conversation.participant_ids and sender not in conversation.participant_ids:
                return "skip"
        record["conversation"] = snapshots.conversation_item(conversation, conversation_id, sender)
        record["check_direction"] = False
    if record["conversation"] is not None:
        _fill_account(record["conversation"], accounts)
    return "ok"
