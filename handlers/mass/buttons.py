"""The mass feature's buttons, as typed callback data (see :mod:`bot.runtime.tg.callback`).

Job buttons (``mass:<action>:<job id>[:…]``) are stateless: the job is read from the store, so
previews, progress messages and unknown-batch cards keep working after a restart. The ``/mass``
conversation's buttons (``mass:aud|col|nocap|ch|quit``) only mean something while that admin's
conversation is open; outside it they are answered as an expired step. ``lists:`` and
``optout:`` drive the saved lists and the opt-out list.
"""

from __future__ import annotations

from typing import Annotated, Literal

from bot.runtime.tg.callback import ButtonData, Match, Namespace

MASS = Namespace("mass")
LISTS = Namespace("lists")
OPTOUT = Namespace("optout")


# --- a job's preview, progress and controls (``job``: the job id)


class Go(ButtonData, namespace=MASS, action="go"):
    job: str


class GoAnyway(ButtonData, namespace=MASS, action="goq"):
    """Send now, through the quiet hours (the preview's "send anyway")."""

    job: str


class Anyway(ButtonData, namespace=MASS, action="anyway"):
    """A send paused for the quiet hours goes on now (the progress message's button)."""

    job: str


class Schedule(ButtonData, namespace=MASS, action="sched"):
    job: str


class Drop(ButtonData, namespace=MASS, action="drop"):
    job: str


class InvalidList(ButtonData, namespace=MASS, action="inv"):
    """The numbers the preview set aside as invalid, as a CSV."""

    job: str


class Recheck(ButtonData, namespace=MASS, action="prev"):
    job: str


class Pause(ButtonData, namespace=MASS, action="pause"):
    job: str


class Resume(ButtonData, namespace=MASS, action="resume"):
    job: str


class Cancel(ButtonData, namespace=MASS, action="cancel"):
    job: str


class Csv(ButtonData, namespace=MASS, action="csv"):
    job: str


class PickList(ButtonData, namespace=MASS, action="pick"):
    """The Bridge: send the post to saved list ``key``."""

    job: str
    key: str


# --- an unknown or failed batch (``index``: the unit's position in the job)


class Resend(ButtonData, namespace=MASS, action="resend"):
    job: str
    index: int


class Skip(ButtonData, namespace=MASS, action="skip"):
    job: str
    index: int


class Check(ButtonData, namespace=MASS, action="check"):
    """Check an unknown batch against MioGram's report."""

    job: str
    index: int


class ResendMissing(ButtonData, namespace=MASS, action="rmiss"):
    """Take what MioGram's report proved as final (resending what it does not show)."""

    job: str
    index: int


class ResendNotDelivered(ButtonData, namespace=MASS, action="rnd"):
    """Take the report's deliveries, and send again the numbers it shows not delivered."""

    job: str
    index: int


#: a decision on an unknown or failed batch
UnitDecision = Resend | Skip | ResendMissing | ResendNotDelivered


# --- the /mass conversation's steps


class Audience(ButtonData, namespace=MASS, action="aud"):
    """Send to saved list ``key``."""

    key: Annotated[str, Match(r"[0-9a-f]+")]


class Column(ButtonData, namespace=MASS, action="col"):
    """The numbers are in column ``index`` (from 0) of the uploaded file."""

    index: int


class NoCaption(ButtonData, namespace=MASS, action="nocap"):
    pass


class Channel(ButtonData, namespace=MASS, action="ch"):
    """Send through the messenger (``m``) or WhatsApp (``w``)."""

    which: Literal["m", "w"]


class Quit(ButtonData, namespace=MASS, action="quit"):
    pass


#: the conversation's buttons (outside an open /mass they are an expired step)
FLOW_STEPS = (Audience, Column, NoCaption, Channel, Quit)


# --- /lists and /optout


class ShowList(ButtonData, namespace=LISTS, action="show"):
    key: str


class NewList(ButtonData, namespace=LISTS, action="new"):
    pass


class ReplaceList(ButtonData, namespace=LISTS, action="repl"):
    key: str


class DeleteList(ButtonData, namespace=LISTS, action="del"):
    key: str


class DeleteListYes(ButtonData, namespace=LISTS, action="delok"):
    key: str


class KeepList(ButtonData, namespace=LISTS, action="keep"):
    key: str


#: a button of one saved list (its handler finds the list first)
ListButton = ShowList | ReplaceList | DeleteList | DeleteListYes | KeepList


class ImportOptOut(ButtonData, namespace=OPTOUT, action="import"):
    pass
