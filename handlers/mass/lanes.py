"""The sending agents a mass send spreads its batches over (``MIOGRAM_ROBOTS``, else
``MIOGRAM_ROBOT`` alone), checked against MioGram's ``APIGetRobot`` at start-up, and the alert
when MioGram refuses one mid-send."""

from __future__ import annotations

import html
import logging

from telegram import Bot

from bot.clients.miogram.errors import MioGramError
from bot.massjobs.docs import JobDoc
from bot.runtime.services import Services

log = logging.getLogger("handlers.mass")


def configured_robots(services: Services) -> tuple[str, ...]:
    config = services.config
    return tuple(config.miogram_robots) or (config.miogram_robot,)


def robot_name(services: Services, robot: str, user_id: int | None = None) -> str:
    """An agent as shown to people (the account's default agent has no name)."""
    return html.escape(robot) if robot else services.t("mass.robot_default", user_id)


async def checked_robots(services: Services, bot: Bot) -> tuple[str, ...]:
    """The configured agents that MioGram lists as active; the others are left out with one
    alert. When MioGram cannot be asked, or lists none of them, all are kept (a send through
    an inactive agent is refused and says so)."""
    robots = configured_robots(services)
    if services.miogram is None or robots == ("",):
        return robots
    try:
        active = await services.miogram.account.api_get_robot()
    except MioGramError as exc:
        log.warning("could not check the sending agents against APIGetRobot: %s", exc)
        return robots
    usable = tuple(robot for robot in robots if robot in active)
    left_out = [robot for robot in robots if robot not in active]
    for robot in usable:  # an agent refused before the restart gets its alert again if refused again
        await services.alerts.resolve(bot, f"mass:lane:{robot}")
    if not left_out:
        await services.alerts.resolve(bot, "mass:robots")
    elif usable:
        text = services.t(
            "mass.alert_robots_inactive",
            None,
            robots=", ".join(html.escape(r) for r in left_out),
            active=html.escape(", ".join(active)) or "—",
        )
        await services.alerts.raise_(bot, "mass:robots", text)
    return usable or robots


async def lane_refused(services: Services, bot: Bot, job: JobDoc, robot: str, detail: str) -> None:
    """One alert per agent taken out of the lanes."""
    name = robot_name(services, robot)
    text = services.t("mass.alert_lane_refused", None, robot=name, job=job["id"], detail=html.escape(detail))
    await services.alerts.raise_(bot, f"mass:lane:{robot}", text)
