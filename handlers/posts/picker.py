"""The account picker of /newpost: accounts and account groups as an inline multi-select.

The choices are read from Resont once per proposal and kept in the proposal (``draft``): every
account as an :class:`~handlers.posts.proposal.AccountChoice`, every account group as a
:class:`~handlers.posts.proposal.GroupChoice`. A group's button selects (or clears) all its
members at once; the accounts are shown a page at a time.
"""

from __future__ import annotations

from bot.runtime.services import Services
from bot.runtime.tg.callback import ButtonData
from handlers.posts.buttons import Page, ToggleAccount, ToggleGroup
from handlers.posts.proposal import AccountChoice, Choices, Draft, GroupChoice

ACCOUNTS_PER_PAGE = 8

Rows = list[list[tuple[str, ButtonData]]]  # button rows of (text, what the button sends)


async def load_choices(services: Services) -> Choices:
    """The accounts and account groups to pick from (raises ResontError)."""
    accounts = await services.resont.accounts.all()
    groups = await services.resont.accounts.groups()
    return {
        "accounts": [
            AccountChoice(a.id, a.name or f"#{a.id}", a.type or "", bool(a.login_required))
            for a in accounts
            if a.id is not None
        ],
        "groups": [GroupChoice(g.id, g.name or f"#{g.id}", list(g.account_ids)) for g in groups if g.id is not None],
    }


def choices_of(draft: Draft) -> Choices:
    """The draft's choices (none before they were read)."""
    return draft["choices"] or {"accounts": [], "groups": []}


def choice_rows(draft: Draft) -> Rows:
    """Account groups (☑ when all their members are picked), then the draft's page of accounts."""
    selected = set(draft["accounts"])
    rows: Rows = []
    for group_id, name, members in choices_of(draft)["groups"]:
        mark = "☑" if members and set(members) <= selected else "☐"
        rows.append([(f"{mark} 👥 {name} ({len(members)})"[:60], ToggleGroup(group_id))])
    return rows + _account_page(draft, selected)


def _account_page(draft: Draft, selected: set[int]) -> Rows:
    """The rows of the draft's page of accounts, and the page arrows when there are pages."""
    accounts = choices_of(draft)["accounts"]
    pages = max(1, -(-len(accounts) // ACCOUNTS_PER_PAGE))
    page = min(max(0, draft.get("page", 0)), pages - 1)
    rows: Rows = []
    for account_id, name, network, relogin in accounts[page * ACCOUNTS_PER_PAGE : (page + 1) * ACCOUNTS_PER_PAGE]:
        mark = "☑" if account_id in selected else "☐"
        warn = " ⚠️" if relogin else ""
        rows.append([(f"{mark} {name} · {network or '?'}{warn}"[:60], ToggleAccount(account_id))])
    if pages > 1:
        nav: list[tuple[str, ButtonData]] = [("◀", Page(page - 1))] if page > 0 else []
        nav.append((f"{page + 1}/{pages}", Page(page)))
        if page < pages - 1:
            nav.append(("▶", Page(page + 1)))
        rows.append(nav)
    return rows


def pick(draft: Draft, kind: str, value: int) -> None:
    """Toggle an account (``a``) or a whole account group (``g``), or turn the page (``p``)."""
    choices = choices_of(draft)
    selected = list(draft["accounts"])
    known = {a.id for a in choices["accounts"]}
    if kind == "a" and value in known:
        if value in selected:
            selected.remove(value)
        else:
            selected.append(value)
    elif kind == "g":
        group = next((g.members for g in choices["groups"] if g.id == value), [])
        members = [m for m in group if m in known]
        if members and set(members) <= set(selected):
            selected = [a for a in selected if a not in members]
        else:
            selected += [m for m in members if m not in selected]
    elif kind == "p":
        draft["page"] = value
    draft["accounts"] = selected


def selected_names(draft: Draft) -> list[str]:
    """ "Name (network)" of each picked account, in the order picked."""
    names = {a.id: f"{a.name} ({a.network or '?'})" for a in choices_of(draft)["accounts"]}
    return [names.get(a, f"#{a}") for a in draft["accounts"]]
