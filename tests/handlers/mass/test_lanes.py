"""Parallel lanes (``MIOGRAM_ROBOTS``) end to end: the real bot and its Telegram stack against the
Bot API emulator and a MioGram fake that answers after a delay, so requests overlap. One agent
is refused mid-send; every number still reaches MioGram exactly once."""

from __future__ import annotations

from collections import Counter
from urllib.parse import parse_qs

import httpx

from bot.store.state import Store
from handlers.mass.wiring import MassFeature
from tests.botapi.emulator import text_of
from tests.fakes.miogram import FakeMioGram
from tests.handlers.mass.flows import bot_says, confirm, flow_to_preview, mass_bot, numbers, report_rows
from tests.harness import ADMIN, ADMIN_CHAT, MIOGRAM_SECRET

ROBOTS = ("A", "B", "C")


class OverlapMeter(httpx.AsyncBaseTransport):
    """Wraps the fake's transport: how many Mass requests are in flight, per agent and in all."""

    def __init__(self, fake: LaneGateway) -> None:
        self.fake = fake
        self.inner = FakeMioGram.transport(fake)
        self.now: Counter[str] = Counter()
        self.most: Counter[str] = Counter()
        self.most_in_all = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        fields = parse_qs((await request.aread()).decode())
        robot = fields.get("Robot", [""])[0]
        mass = fields.get("Func", [""])[0].endswith("Mass")
        if mass:
            self.now[robot] += 1
            self.most[robot] = max(self.most[robot], self.now[robot])
            self.most_in_all = max(self.most_in_all, sum(self.now.values()))
        try:
            return await self.inner.handle_async_request(request)
        finally:
            if mass:
                self.now[robot] -= 1
                self.fake.answered(robot)


class LaneGateway(FakeMioGram):
    """MioGram with three agents; after ``refuse_after`` Mass requests agent B is deactivated
    (its next request is answered 827, as the server does for an agent not active)."""

    def __init__(self, refuse_after: int) -> None:
        super().__init__(secret=MIOGRAM_SECRET, latency=0.03)
        self.robots = list(ROBOTS)
        self.refuse_after = refuse_after
        self.meter = OverlapMeter(self)
        self.mass_answers = 0

    def transport(self) -> httpx.AsyncBaseTransport:
        return self.meter

    def answered(self, robot: str) -> None:
        self.mass_answers += 1
        if self.mass_answers == self.refuse_after:
            self.robots.remove("B")


def mass_calls_by_robot(fake: FakeMioGram) -> Counter[str]:
    return Counter(call["Robot"] for call in fake.calls if (call["Func"] or "").endswith("Mass"))


async def test_three_lanes_one_agent_refused_mid_send_and_no_number_twice(botapi):
    fake = LaneGateway(refuse_after=4)
    fake.set_credit("Message", 5000)
    audience = numbers(1500)
    async with mass_bot(botapi, fake, miogram_robots=ROBOTS, mass_batch_size=100) as app:
        assert fake.calls_of("APIGetRobot"), "the agents are checked against APIGetRobot at start"
        preview = await flow_to_preview(botapi, "\n".join(audience))
        job_id = await confirm(botapi, preview)
        rows = await report_rows(botapi, job_id, timeout=30)
        lanes = next(f.mass for f in app.bot_data.features if isinstance(f, MassFeature)).runtime.runner.lanes
        assert lanes.live == ["A", "C"] and set(lanes.refused) == {"B"}
        botapi.user_sends(ADMIN, ADMIN_CHAT, "/status")
        status = await bot_says(botapi, "Mass-send lanes")
        assert "Mass-send lanes: A, C (refused by MioGram until a restart: B)" in text_of(status)
    sent = fake.sent_numbers()
    assert len(sent) == len(set(sent)) == 1500 and set(sent) == set(audience)  # exactly once each
    assert {row["outcome"] for row in rows if row["number"].startswith("+")} == {"sent"}
    by_robot = mass_calls_by_robot(fake)
    assert set(by_robot) == set(ROBOTS) and by_robot["A"] >= 2 and by_robot["C"] >= 2
    assert fake.meter.most == Counter({"A": 1, "B": 1, "C": 1})  # one request in flight per agent
    assert fake.meter.most_in_all >= 2  # ... and the agents send side by side
    alerts = [text_of(m) for m in botapi.bot_messages(ADMIN_CHAT) if "refused the sending agent" in text_of(m)]
    assert len(alerts) == 1 and "agent B during" in alerts[0]
    drawn = [r.params.get("text", "") for r in botapi.requests_of("editMessageText", "sendMessage")]
    assert any("Lanes:" in text and "B ✕ refused" in text for text in drawn)


async def test_at_start_inactive_agents_are_left_out_with_one_alert_and_old_refusals_are_cleared(botapi):
    fake = FakeMioGram(secret=MIOGRAM_SECRET)
    fake.robots = ["A", "C"]  # B is not active on the account
    store = Store.memory()
    store.table("alerts").put("mass:lane:A", {"at": 0, "text": "A was refused before the restart"})
    async with mass_bot(botapi, fake, store=store, miogram_robots=ROBOTS) as app:
        lanes = next(f.mass for f in app.bot_data.features if isinstance(f, MassFeature)).runtime.runner.lanes
        assert lanes.live == ["A", "C"]
        alerts = [text_of(m) for m in botapi.bot_messages(ADMIN_CHAT) if "does not list as active" in text_of(m)]
        assert len(alerts) == 1 and "B" in alerts[0]
        assert "mass:lane:A" not in store.table("alerts")  # a new refusal of A would be told again
