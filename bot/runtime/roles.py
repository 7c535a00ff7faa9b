"""Who may do what. Roles come from configuration; rules are declared by features and enforced in
one place (``handlers.guard``), never re-checked by hand in each handler."""

from __future__ import annotations

import enum

from bot.config import Config


class Role(enum.Enum):
    ADMIN = "admin"  # everything
    AGENT = "agent"  # work the inbox
    AUTHOR = "author"  # propose posts


ADMINS = frozenset({Role.ADMIN})
INBOX = frozenset({Role.ADMIN, Role.AGENT})
AUTHORS = frozenset({Role.ADMIN, Role.AUTHOR})
ANY_ROLE = frozenset(Role)


def roles_of(config: Config, user_id: int | None) -> frozenset[Role]:
    """The roles a Telegram user holds (empty for strangers and for anonymous senders)."""
    if user_id is None:
        return frozenset()
    roles = set()
    if user_id in config.admin_ids:
        roles.add(Role.ADMIN)
    if user_id in config.agent_ids:
        roles.add(Role.AGENT)
    if user_id in config.author_ids:
        roles.add(Role.AUTHOR)
    return frozenset(roles)


def allowed(config: Config, user_id: int | None, needed: frozenset[Role]) -> bool:
    return bool(roles_of(config, user_id) & needed)
