"""The runner's lanes against the MioGram fake, without Telegram: batches spread over sending
agents, one request in flight each; a refused agent's batch goes back to the queue; an unknown
batch stays unknown on its lane; no number is ever sent twice."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.massjobs import docs as md
from bot.massjobs.lanes import Spacing
from tests.fakes.miogram import FakeMioGram
from tests.harness import MIOGRAM_SECRET
from tests.massjobs.rig import Rig, numbers

ROBOTS = ("A", "B", "C")


def lanes_fake(latency: float = 0.01) -> FakeMioGram:
    fake = FakeMioGram(secret=MIOGRAM_SECRET, latency=latency)
    fake.robots = list(ROBOTS)
    fake.set_credit("Message", 10_000)
    return fake


def by_robot(fake: FakeMioGram) -> Counter[str]:
    return Counter(call["Robot"] for call in fake.calls_of("SendMessageMass"))


async def test_batches_spread_over_the_lanes_and_each_number_goes_once(rig):
    r = rig(lanes_fake(), robots=ROBOTS)
    job_id = r.draft(numbers(900))
    await r.runner.confirm(job_id, 1)
    await r.run_lanes(job_id)
    assert r.job()["status"] == md.DONE
    sent = r.fake.sent_numbers()
    assert sorted(sent) == sorted(numbers(900))
    assert set(by_robot(r.fake)) == set(ROBOTS) and sum(by_robot(r.fake).values()) == 9
    assert {u.get("lane") for u in r.job()["units"]} == set(ROBOTS)


async def test_a_refused_agent_leaves_the_lanes_and_its_batch_goes_to_another(rig):
    fake = lanes_fake()
    fake.robots = ["A", "C"]  # B is not active: MioGram answers 827 to it
    r = rig(fake, robots=ROBOTS)
    job_id = r.draft(numbers(600))
    await r.runner.confirm(job_id, 1)
    await r.run_lanes(job_id)
    await r.run_lanes(job_id)  # the lanes kicked after the refusal
    assert r.job()["status"] == md.DONE
    assert sorted(r.fake.sent_numbers()) == sorted(numbers(600))  # nothing lost, nothing twice
    assert r.runner.lanes.live == ["A", "C"] and set(r.runner.lanes.refused) == {"B"}
    assert [e for e in r.notifier.events if e[0] == "lane"] == [("lane", "B")]
    assert {u.get("lane") for u in r.job()["units"]} == {"A", "C"}


async def test_the_last_agent_is_never_taken_out(rig):
    fake = lanes_fake()
    fake.robots = ["Z"]  # neither configured agent is active
    r = rig(fake, robots=("A", "B"))
    job_id = r.draft(numbers(300))
    await r.runner.confirm(job_id, 1)
    await r.run_lanes(job_id)
    job = r.job()
    assert r.runner.lanes.live == ["B"] or r.runner.lanes.live == ["A"]
    assert job["status"] == md.PAUSED and job["pause_reason"] == md.ERROR and r.fake.sent == []


async def test_an_unknown_batch_stays_unknown_on_its_lane_and_nothing_is_resent_by_itself(rig):
    fake = lanes_fake()
    fake.mass_999_over = 0  # every answer is lost while the gateway sends
    r = rig(fake, robots=ROBOTS)
    job_id = r.draft(numbers(900))
    await r.runner.confirm(job_id, 1)
    await r.run_lanes(job_id)
    job = r.job()
    unknown = [u for u in job["units"] if u["state"] == md.UNKNOWN]
    assert job["status"] == md.PAUSED and job["pause_reason"] == md.UNKNOWN_BATCH
    assert 1 <= len(unknown) <= 3 and all(u.get("lane") in ROBOTS for u in unknown)
    assert all(u["state"] in (md.UNKNOWN, md.PENDING) for u in job["units"])
    sent_before = list(r.fake.sent_numbers())
    assert len(sent_before) == len(set(sent_before)) == 100 * len(unknown)
    await r.run_lanes(job_id)  # nothing moves without an admin
    assert r.fake.sent_numbers() == sent_before


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    count=st.integers(1, 500),
    refuse_after=st.integers(0, 8),
    lost=st.lists(st.booleans(), max_size=10),
    decisions=st.lists(st.sampled_from(["skip", "resend"]), max_size=10),
)
def test_no_number_goes_twice_on_lanes_whatever_is_refused_or_lost(count, refuse_after, lost, decisions):
    asyncio.run(_lanes_property(count, refuse_after, lost, decisions))


async def _lanes_property(count: int, refuse_after: int, lost: list[bool], decisions: list[str]) -> None:
    fake = lanes_fake(latency=0.0)
    r = Rig(fake, robots=ROBOTS)
    try:
        job_id = r.draft(numbers(count))
        await r.runner.confirm(job_id, 1)
        for round_ in range(60):
            if round_ == refuse_after and "B" in fake.robots:
                fake.robots.remove("B")
            fake.mass_999_over = 0 if round_ < len(lost) and lost[round_] else None
            # one step on every live lane, side by side (the prepared unit of a lane goes next)
            await asyncio.gather(*(r.runner.step(job_id, lane) for lane in r.runner.lanes.live))
            job = r.job(job_id)
            if job["status"] in md.FINISHED:
                break
            unknown = [i for i, u in enumerate(job["units"]) if u["state"] == md.UNKNOWN]
            for i in unknown:
                decision = decisions[i % len(decisions)] if decisions else "skip"
                await r.runner.resolve(job_id, i, decision, 1)
            if job["status"] == md.PAUSED and not unknown:
                await r.runner.resume(job_id, 1)
        final = r.job(job_id)
        assert final["status"] == md.DONE, final["status"]
        sent = fake.sent_numbers()
        resent = {n for n, k in Counter(sent).items() if k > 1}
        chosen = {n for u in final["units"] if u.get("decided_by") for n in u["numbers"]}
        assert resent <= chosen, "a number went twice without an admin's Resend"
        rows = [row for row in r.report(job_id) if row["number"].startswith("+")]
        assert [row["number"] for row in rows] == numbers(count)
    finally:
        await r.close()


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_spacing_spreads_the_lanes_requests_over_the_fastest_round_trip() -> None:
    clock = Clock()
    spacing = Spacing(clock, share=0.9)
    # the first round: nothing known yet, the three lanes go at once
    assert [spacing.reserve("j", 3) for _ in range(3)] == [0.0, 0.0, 0.0]
    clock.now += 0.055
    spacing.answered("j", 100.0)  # a round trip of 55 ms (the fastest so far)
    clock.now += 0.010
    spacing.answered("j", 100.0)  # 65 ms: slower ones do not widen the gap
    gap = 0.055 * 0.9 / 3
    # the answers came back together; each lane takes the next free slot, a gap apart
    waits = [spacing.reserve("j", 3) for _ in range(3)]
    assert waits == pytest.approx([0.0, gap, 2 * gap])
    # three gaps stay under one round trip: a lane answered a round trip later never waits
    clock.now += 0.055
    assert spacing.reserve("j", 3) == 0.0


def test_spacing_holds_nothing_back_with_one_lane_or_for_another_job() -> None:
    clock = Clock()
    spacing = Spacing(clock)
    spacing.reserve("j", 1)
    spacing.answered("j", clock.now - 0.05)
    assert spacing.reserve("j", 1) == 0.0 and spacing.reserve("j", 1) == 0.0
    spacing.reserve("j", 3)
    assert spacing.reserve("k", 3) == 0.0  # another job's lanes are spaced on their own
    spacing.forget("j")
    assert spacing.reserve("j", 3) == 0.0
