"""Account and post analytics.

One class of the client (composed by :class:`bot.clients.resont.client.ResontClient`); see
``docs/resont-client.md`` for the services, paths and the readings chosen.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from bot.clients.resont.api import Api
from bot.clients.resont.models import InsightsResponse


class Insights:
    """Account and post analytics."""

    def __init__(self, api: Api) -> None:
        self._api = api

    async def account(
        self,
        account_id: int,
        metrics: Sequence[str],
        period: str,
        *,
        date_from: str | date | None = None,
        date_to: str | date | None = None,
    ) -> InsightsResponse:
        """Account analytics; ``period`` is week, month, three months, lifetime or custom."""
        params = await self._params(metrics, period, date_from, date_to)
        body = await self._api.call("insights.account", params=params, account_id=account_id)
        return await self._api.one(InsightsResponse.from_raw, body)

    async def post(
        self,
        post_group_id: int,
        metrics: Sequence[str] = (),
        period: str | None = None,
        *,
        date_from: str | date | None = None,
        date_to: str | date | None = None,
    ) -> InsightsResponse:
        params = await self._params(metrics, period, date_from, date_to)
        body = await self._api.call("insights.post", params=params, post_group_id=post_group_id)
        return await self._api.one(InsightsResponse.from_raw, body)

    async def _params(self, metrics: Sequence[str], period: str | None, date_from: Any, date_to: Any) -> dict[str, Any]:
        return {
            "metric": list(metrics) or None,
            "period": period,
            "date_from": await self._api.date_param(date_from),
            "date_to": await self._api.date_param(date_to),
        }
