"""The mass-send state machine (bot/massjobs/runner.py) against the MioGram fake, without Telegram.

Each test drives :class:`MassRunner` step by step, the way the job queue does in the bot, and
looks at what reached the fake: exactly-once batches, unknown outcomes after a crash or a 999,
credit pauses, opt-outs at send time, captions after media, cancellation, and a report that
lists every number once.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from bot.clients.miogram.models import Outcome
from bot.massjobs import docs as md
from bot.massjobs.counts import count
from bot.massjobs.units import make_units
from tests.fakes.miogram import FakeMioGram
from tests.harness import MIOGRAM_SECRET
from tests.massjobs.rig import Gate, Rig, crashed_copy, mass_sizes, numbers

# --- units


def test_units_split_batches_and_parts():
    units = make_units(numbers(250), 100, ["text"])
    assert [(u["batch"], len(u["numbers"])) for u in units] == [(0, 100), (1, 100), (2, 50)]
    units = make_units(numbers(150), 100, ["media", "text"])
    assert [(u["batch"], u["part"]) for u in units] == [(0, "media"), (0, "text"), (1, "media"), (1, "text")]
    assert units[1]["numbers"] == []  # the caption's numbers are those that got the file


# --- the happy path


async def test_a_send_runs_batch_by_batch_and_reports_every_number_once(rig):
    r = rig()
    audience = numbers(250)
    r.fake.not_delivered = {audience[7]}
    job_id = r.draft(audience)
    ok, _ = await r.runner.confirm(job_id, by=1)
    assert ok and r.kicked == [job_id]
    await r.run(job_id)
    assert mass_sizes(r.fake) == [100, 100, 50]
    assert sorted(r.fake.sent_numbers()) == sorted(audience)
    job = r.job()
    assert job["status"] == md.DONE and job["report_sent"]
    assert r.notifier.of("finished") == [md.DONE]
    rows = r.report()
    assert [row["number"] for row in rows if row["outcome"] != md.INVALID_INPUT] == audience
    outcomes = {row["number"]: row["outcome"] for row in rows}
    assert outcomes[audience[7]] == Outcome.NOT_DELIVERED.value
    assert sum(1 for o in outcomes.values() if o == "sent") == 249
    assert outcomes["12"] == md.INVALID_INPUT
    c = count(job)
    assert (c.total, c.sent, c.not_delivered, c.left, c.batches, c.batches_done) == (250, 249, 1, 0, 3, 3)
    assert r.runner.chains.active == set()


async def test_a_double_confirm_starts_one_send(rig):
    r = rig()
    job_id = r.draft(numbers(3))
    first, second = await asyncio.gather(r.runner.confirm(job_id, 1), r.runner.confirm(job_id, 2))
    assert [first[0], second[0]].count(True) == 1
    assert r.kicked == [job_id]


async def test_each_unit_is_written_in_flight_before_the_request(rig):
    """The state file says "in flight" while the request is out, so a crash there is caught."""
    seen: list[str] = []
    r = rig()

    class Spy(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            body = (await request.aread()).decode()
            if "SendMessageMass" in body:
                job = r.job()
                seen.extend(u["state"] for u in job["units"])
            return await inner.handle_async_request(request)

    inner = r.fake.transport()
    r = Rig(r.fake, transport=Spy())
    try:
        job_id = r.draft(numbers(150))
        await r.runner.confirm(job_id, 1)
        await r.run(job_id)
    finally:
        await r.close()
    assert seen == [md.IN_FLIGHT, md.PENDING, md.UNIT_DONE, md.IN_FLIGHT]


async def test_a_batch_writes_its_own_small_document_not_the_whole_audience(rig):
    r = rig(batch_size=10)
    job_id = r.draft(numbers(1000), batch_size=10)
    table = r.store.table(md.TABLE)
    writes: list[int] = []
    put = table.put
    table.put = lambda key, doc: (writes.append(len(doc.get("numbers", []))), put(key, doc))[1]  # type: ignore[method-assign]
    await r.runner.confirm(job_id, 1)
    await r.run(job_id)
    assert len(r.fake.calls_of("SendMessageMass")) == 100
    assert len(writes) <= 4, writes  # confirmed, done, finished, report sent: not once per batch
    assert len(r.store.table(md.UNITS)) == 100


# --- crash in flight → unknown → an admin decides


@pytest.mark.parametrize("decision", ["skip", "resend"])
async def test_a_unit_in_flight_at_a_crash_is_unknown_until_an_admin_decides(rig, decision):
    fake = FakeMioGram(secret=MIOGRAM_SECRET)
    gate = Gate(fake.transport(), hold=2)
    before = rig(fake, transport=gate)
    audience = numbers(250)
    job_id = before.draft(audience)
    await before.runner.confirm(job_id, 1)
    task = asyncio.create_task(before.run(job_id))
    await asyncio.wait_for(gate.arrived.wait(), 5)
    state_at_crash = crashed_copy(before.store)  # the process dies here ...
    gate.release.set()  # ... while the gateway goes on sending the batch it received
    await task
    assert mass_sizes(fake) == [100, 100, 50]
    fake.requests.clear()
    fake.sent.clear()

    after = rig(fake, store=state_at_crash)
    resumed = await after.runner.recover()
    assert resumed == []
    job = after.job()
    assert job["status"] == md.PAUSED and job["pause_reason"] == md.UNKNOWN_BATCH
    assert [u["state"] for u in job["units"]] == [md.UNIT_DONE, md.UNKNOWN, md.PENDING]
    assert after.notifier.of("unknown") == [1]
    # Nothing moves without the admin's word: Resume is refused, a step does nothing.
    assert (await after.runner.resume(job_id, 1))[0] is False
    assert await after.runner.step(job_id) is False
    assert fake.requests == []

    ok, _ = await after.runner.resolve(job_id, 1, decision, by=1)
    assert ok and after.kicked == [job_id]
    assert (await after.runner.resolve(job_id, 1, decision, by=1))[0] is False  # a double tap
    await after.run(job_id)
    job = after.job()
    assert job["status"] == md.DONE
    resent = audience[100:200] if decision == "resend" else []
    assert fake.sent_numbers() == resent + audience[200:]
    outcomes = {row["number"]: row["outcome"] for row in after.report()}
    expected_middle = "sent" if decision == "resend" else "unknown"
    assert {outcomes[n] for n in audience[100:200]} == {expected_middle}
    assert {outcomes[n] for n in audience[:100] + audience[200:]} == {"sent"}


async def test_a_999_pauses_and_the_report_check_resends_only_the_missing(rig):
    r = rig()
    audience = numbers(120)
    r.fake.mass_999_over = 50  # the front end gives up on 100 numbers while the gateway sends them
    job_id = r.draft(audience)
    await r.runner.confirm(job_id, 1)
    await r.run(job_id)
    job = r.job()
    assert job["status"] == md.PAUSED and job["pause_reason"] == md.UNKNOWN_BATCH
    assert job["units"][0]["state"] == md.UNKNOWN and job["units"][1]["state"] == md.PENDING
    assert r.notifier.of("unknown") == [0]
    assert count(job).sent == 0  # nothing is marked sent that is not known to be
    # An admin took 97 of the 100 as sent (say the last three were still queued at the gateway).
    r.fake.sent = [s for s in r.fake.sent if s[1] not in audience[97:100]]
    known = {n: "sent" for n in audience[:97]}
    ok, _ = await r.runner.resolve(job_id, 0, "resend_missing", 1, known)
    assert ok
    await r.run(job_id)
    assert r.job()["status"] == md.DONE
    sent = r.fake.sent_numbers()
    assert sorted(sent) == sorted(audience) and len(set(sent)) == len(sent)
    assert {row["outcome"] for row in r.report() if row["number"].startswith("+")} == {"sent"}


# --- credit


async def test_no_credit_pauses_with_nothing_marked_sent_and_resume_continues(rig):
    r = rig()
    audience = numbers(250)
    r.fake.set_credit("Message", 150)
    job_id = r.draft(audience)
    await r.runner.confirm(job_id, 1)
    await r.run(job_id)
    job = r.job()
    assert job["status"] == md.PAUSED and job["pause_reason"] == md.NO_CREDIT
    assert r.notifier.of("paused") == [md.NO_CREDIT]
    assert [u["state"] for u in job["units"]] == [md.UNIT_DONE, md.PENDING, md.PENDING]
    assert job["units"][1]["results"] == {}
    assert count(job).sent == 100 and len(r.fake.sent) == 100
    r.fake.set_credit("Message", 1000)
    ok, _ = await r.runner.resume(job_id, by=1)
    assert ok and r.notifier.of("resumed") == [job_id]
    await r.run(job_id)
    assert r.job()["status"] == md.DONE
    assert sorted(r.fake.sent_numbers()) == sorted(audience)
