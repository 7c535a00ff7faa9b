"""Admin actions in the Bot API emulator that several drills share: a mass send up to its
preview card, the unknown-batch cards, settling one through MioGram's report, the final report."""

from __future__ import annotations

from typing import Any

from handlers.mass import buttons as kinds
from tests.botapi import button_datas, text_of
from tests.harness import ADMIN, ADMIN_CHAT


def last_message_id(botapi: Any) -> int:
    return max([m["message_id"] for m in botapi.messages(ADMIN_CHAT)] or [0])


async def mass_preview(
    botapi: Any, numbers: list[str], text: str = "Spring offer", timeout: float = 15.0
) -> dict[str, Any]:
    """/mass → pasted numbers → text → messenger channel: the preview card (with Send now)."""
    start = last_message_id(botapi)
    botapi.user_sends(ADMIN, ADMIN_CHAT, "/mass")
    ask = await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "step 1 of 3" in text_of(m), timeout, after=start)
    botapi.user_sends(ADMIN, ADMIN_CHAT, "\n".join(numbers), reply_to=ask["message_id"])
    step2 = await botapi.wait_for_bot_message(
        ADMIN_CHAT, lambda m: "Step 2 of 3" in text_of(m), timeout, after=ask["message_id"]
    )
    botapi.user_sends(ADMIN, ADMIN_CHAT, text, reply_to=step2["message_id"])
    step3 = await botapi.wait_for_bot_message(
        ADMIN_CHAT, lambda m: "Step 3 of 3" in text_of(m), timeout, after=step2["message_id"]
    )
    botapi.user_presses(ADMIN, ADMIN_CHAT, step3["message_id"], kinds.Channel("m").encode())
    return await botapi.wait_for_bot_message(
        ADMIN_CHAT, lambda m: any(d.startswith("mass:go:") for d in button_datas(m)), timeout, after=step3["message_id"]
    )


def recent(botapi: Any, count: int = 8) -> str:
    """The last messages of the admin chat with their buttons (for failure messages)."""
    lines = []
    for m in botapi.messages(ADMIN_CHAT)[-count:]:
        who = "bot" if m.get("from", {}).get("id") == botapi.bot_id else f"user {m.get('from', {}).get('id')}"
        lines.append(f"#{m['message_id']} {who}: {text_of(m)[:160]!r} {button_datas(m)}")
    return "\n".join(lines)


def go_button(preview: dict[str, Any]) -> str:
    return next(d for d in button_datas(preview) if d.startswith("mass:go:"))


def unknown_cards(botapi: Any, after: int = 0) -> list[dict[str, Any]]:
    """The bot's "outcome unknown" cards (mass batches it cannot vouch for), oldest first."""
    return [m for m in botapi.bot_messages(ADMIN_CHAT) if m["message_id"] > after and "outcome unknown" in text_of(m)]


async def settle_by_report(botapi: Any, card: dict[str, Any], *, otherwise: str = "skip", timeout: float = 15.0) -> str:
    """Press Check on an unknown-batch card (the bot reads MioGram's own send report), then take
    what the report proves as final (``rmiss``: the request's record settles every number of it)
    or, when the report cannot tell, ``otherwise`` (``skip`` or ``resend``). Returns the callback
    data pressed."""
    check = next(d for d in button_datas(card) if d.startswith("mass:check:"))
    botapi.user_presses(ADMIN, ADMIN_CHAT, card["message_id"], check)

    def checked() -> dict[str, Any] | None:
        message = botapi.message(ADMIN_CHAT, card["message_id"])
        text = text_of(message)
        if button_datas(message) and ("has this batch's request" in text or "cannot tell" in text):
            return message
        return None

    message = await botapi.wait_for(checked, timeout=timeout)
    datas = button_datas(message)
    choice = next((d for d in datas if d.startswith("mass:rmiss:")), None) or next(
        d for d in datas if d.startswith(f"mass:{otherwise}:")
    )
    botapi.user_presses(ADMIN, ADMIN_CHAT, card["message_id"], choice)
    return choice


async def report_of(botapi: Any, job_id: str, timeout: float = 20.0) -> dict[str, Any]:
    """The job's final report (the CSV document the bot posts when a mass send ends)."""
    return await botapi.wait_for(
        lambda: next(
            (
                m
                for m in botapi.bot_messages(ADMIN_CHAT)
                if (m.get("document") or {}).get("file_name") == f"mass-{job_id}.csv"
            ),
            None,
        ),
        timeout=timeout,
    )
