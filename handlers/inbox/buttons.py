"""The inbox's buttons, as typed callback data (see :mod:`bot.runtime.tg.callback`).

Comment cards (``cmt:<action>:<comment id>[:<tag id>]``), DM cards
(``dm:<action>:<conversation id>:<newest message id>[:<tag id>]``) and digests
(``inbox:x:<item key>``, ``inbox:da:<digest id>``). Every button carries the ids it needs, so
cards keep working after a restart; the item itself is read from the ``inbox`` table.
"""

from __future__ import annotations

from typing import Annotated

from bot.runtime.tg.callback import TAIL, ButtonData, Namespace

CMT = Namespace("cmt")
DM = Namespace("dm")
INBOX_NS = Namespace("inbox")


# --- comment cards


class CommentReply(ButtonData, namespace=CMT, action="r"):
    comment: int


class CommentLike(ButtonData, namespace=CMT, action="l"):
    comment: int


class CommentTags(ButtonData, namespace=CMT, action="t"):
    comment: int


class CommentTag(ButtonData, namespace=CMT, action="tg"):
    comment: int
    tag: int


class CommentTagsBack(ButtonData, namespace=CMT, action="tb"):
    comment: int


class CommentDelete(ButtonData, namespace=CMT, action="d"):
    comment: int


class CommentDeleteNo(ButtonData, namespace=CMT, action="dn"):
    comment: int


class CommentDeleteYes(ButtonData, namespace=CMT, action="dy"):
    comment: int


class CommentDone(ButtonData, namespace=CMT, action="ok"):
    comment: int


# --- DM cards (the newest message of the card names it)


class DmReply(ButtonData, namespace=DM, action="r"):
    conversation: int
    message: int


class DmLike(ButtonData, namespace=DM, action="l"):
    conversation: int
    message: int


class DmTags(ButtonData, namespace=DM, action="t"):
    conversation: int
    message: int


class DmTag(ButtonData, namespace=DM, action="tg"):
    conversation: int
    message: int
    tag: int


class DmTagsBack(ButtonData, namespace=DM, action="tb"):
    conversation: int
    message: int


class DmDone(ButtonData, namespace=DM, action="ok"):
    conversation: int
    message: int


# --- digests


class Expand(ButtonData, namespace=INBOX_NS, action="x"):
    """A digest's numbered line: show that item as a full card."""

    key: Annotated[str, TAIL]


class DigestDone(ButtonData, namespace=INBOX_NS, action="da"):
    """ "Mark all done" under a digest."""

    digest: str


#: the buttons that work on a closed card too (an agent may still answer it)
REPLIES = (CommentReply, DmReply)

#: a comment card's buttons (each names its comment)
CommentButton = (
    CommentReply
    | CommentLike
    | CommentTags
    | CommentTag
    | CommentTagsBack
    | CommentDelete
    | CommentDeleteNo
    | CommentDeleteYes
    | CommentDone
)
#: a DM card's buttons (each names its conversation and the card's newest message)
DmButton = DmReply | DmLike | DmTags | DmTag | DmTagsBack | DmDone
