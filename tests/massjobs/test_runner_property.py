"""A property of the mass runner: whatever fails and whenever the process dies, no number is
sent twice unless an admin chose Resend, and the report lists every number once."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.massjobs import docs as md
from bot.massjobs import storage
from tests.fakes.miogram import FakeMioGram
from tests.harness import MIOGRAM_SECRET
from tests.massjobs.rig import Rig, crashed_copy, numbers

# --- a property: whatever fails and whenever the process dies, no number is sent twice
# unless an admin chose Resend, and the report lists every number once.


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    count=st.integers(1, 150),
    batch=st.integers(10, 100),
    events=st.lists(st.sampled_from(["ok", "999", "drop", "credit", "crash"]), max_size=12),
)
def test_no_number_is_sent_twice_without_an_admin(count, batch, events):
    asyncio.run(_property(count, batch, events))


async def _property(count: int, batch: int, events: list[str]) -> None:
    fake = FakeMioGram(secret=MIOGRAM_SECRET)
    audience = numbers(count)
    rigs = [Rig(fake, batch_size=batch)]
    try:
        job_id = rigs[0].draft(audience, batch_size=batch)
        await rigs[0].runner.confirm(job_id, 1)
        for event in events + ["ok"] * 300:
            r = rigs[-1]
            job = r.job(job_id)
            if job["status"] in md.FINISHED:
                break
            fake.faults.clear()
            fake.set_credit("Message", 100000)
            if event == "999":
                fake.mass_999_over = 0
            else:
                fake.mass_999_over = None
            if event == "drop":
                fake.faults.add("drop", match="Mass")
            if event == "credit":
                fake.set_credit("Message", 0)
            if event == "crash":
                # the state as written, a unit possibly in flight: mark the next one in flight
                # the way step() does, then "restart"
                state = crashed_copy(r.store)
                doc = storage.load(state, job_id)
                pending = [u for u in doc["units"] if u["state"] == md.PENDING]
                if pending and job["status"] == md.RUNNING:
                    i = next(i for i, u in enumerate(doc["units"]) if u["state"] == md.PENDING)
                    doc["units"][i]["state"] = md.IN_FLIGHT
                    doc["units"][i]["sending"] = list(doc["units"][i]["numbers"])
                    storage.save_unit(state, doc, i)
                    # the gateway got that request and sent it before the process died
                    for n in doc["units"][i]["numbers"]:
                        fake.sent.append(("SendMessageMass", n))
                rigs.append(Rig(fake, store=state, batch_size=batch))
                await rigs[-1].runner.recover()
                continue
            if job["status"] == md.PAUSED:
                unknown = [i for i, u in enumerate(job["units"]) if u["state"] == md.UNKNOWN]
                if unknown:
                    await r.runner.resolve(job_id, unknown[0], "skip", 1)
                else:
                    await r.runner.resume(job_id, 1)
                continue
            await r.runner.step(job_id)
        final = rigs[-1].job(job_id)
        assert final["status"] == md.DONE, final["status"]
        sent = fake.sent_numbers()
        assert len(sent) == len(set(sent)), "a number was sent twice"
        rows = [row for row in rigs[-1].report(job_id) if row["number"].startswith("+")]
        assert [row["number"] for row in rows] == audience
        sent_in_report = {row["number"] for row in rows if row["outcome"] == "sent"}
        assert sent_in_report <= set(sent), "a number is reported sent that was not"
    finally:
        for r in rigs:
            await r.close()
