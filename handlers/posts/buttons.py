"""The posts feature's buttons, as typed callback data (see :mod:`bot.runtime.tg.callback`).

Approval cards and their confirmations (``post:<action>:<post group id>[:…]``, admins) carry the
post group id, so they keep working after a restart; the card's state is read from the
``approvals`` table. The /newpost conversation's buttons (``newpost:…``, authors) only mean
something while that author's proposal is open.
"""

from __future__ import annotations

from typing import Literal

from bot.runtime.tg.callback import ButtonData, Namespace

POST = Namespace("post")
NEWPOST = Namespace("newpost")


# --- approval cards


class Approve(ButtonData, namespace=POST, action="ok"):
    pg: int


class Reject(ButtonData, namespace=POST, action="no"):
    pg: int


class Reschedule(ButtonData, namespace=POST, action="time"):
    pg: int


class EditCaption(ButtonData, namespace=POST, action="cap"):
    pg: int


class PublishNow(ButtonData, namespace=POST, action="now"):
    """After Approve found the time passed: publish at once."""

    pg: int


class PickTime(ButtonData, namespace=POST, action="later"):
    """After Approve found the time passed: ask for a new time, then approve for it."""

    pg: int


class Back(ButtonData, namespace=POST, action="back"):
    """Back from "publish now or pick a time" to the card's usual buttons."""

    pg: int


class Retry(ButtonData, namespace=POST, action="retry"):
    """Retry a failed post (on its alert)."""

    pg: int


class SendToList(ButtonData, namespace=POST, action="mass"):
    """ "Also send to a list…" on an approved card (the bridge into mass sends)."""

    pg: int


# --- confirmations under a card


class RescheduleYes(ButtonData, namespace=POST, action="rsok"):
    """Confirm the typed time ``ts`` (Unix seconds); ``approve="a"``: approve it for then."""

    pg: int
    ts: int
    approve: Literal["a"] | None = None


class RescheduleNo(ButtonData, namespace=POST, action="rsno"):
    pg: int


class CaptionSave(ButtonData, namespace=POST, action="capok"):
    """Save the caption typed for this card (``nonce`` names that draft)."""

    pg: int
    nonce: str


class CaptionDiscard(ButtonData, namespace=POST, action="capno"):
    pg: int
    nonce: str


# --- /newpost


class KeepCaption(ButtonData, namespace=NEWPOST, action="keep"):
    pass


class ToggleAccount(ButtonData, namespace=NEWPOST, action="a"):
    n: int


class ToggleGroup(ButtonData, namespace=NEWPOST, action="g"):
    n: int


class Page(ButtonData, namespace=NEWPOST, action="p"):
    n: int


class AccountsDone(ButtonData, namespace=NEWPOST, action="done"):
    pass


class Asap(ButtonData, namespace=NEWPOST, action="asap"):
    pass


class Submit(ButtonData, namespace=NEWPOST, action="submit"):
    pass


class CancelProposal(ButtonData, namespace=NEWPOST, action="cancel"):
    pass


#: the account picker's buttons (one step of the conversation)
PICKER = (ToggleAccount, ToggleGroup, Page, AccountsDone)
#: every /newpost button (outside an open proposal, each is answered as stale)
NEWPOST_KINDS = (KeepCaption, *PICKER, Asap, Submit, CancelProposal)
