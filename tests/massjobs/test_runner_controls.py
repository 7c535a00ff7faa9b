"""The mass runner's controls against the MioGram fake: opt-outs at send time, captions after
media, refused batches, cancel, pause, scheduling and recovery after a restart."""

from __future__ import annotations

import asyncio

from bot.clients.miogram.media import Media
from bot.massjobs import docs as md
from tests.fakes.miogram import FakeMioGram
from tests.harness import MIOGRAM_SECRET
from tests.massjobs.rig import Gate, crashed_copy, mass_sizes, numbers

# --- opt-out, captions, errors, cancel, pause


async def test_a_number_opted_out_after_confirmation_is_not_sent(rig):
    r = rig()
    audience = numbers(150)
    r.store.table("optout").put(audience[0], {"at": 0})
    job_id = r.draft(audience)
    await r.runner.confirm(job_id, 1)
    r.store.table("optout").put(audience[120], {"at": 0})  # opted out while the send runs
    await r.run(job_id)
    assert audience[0] not in r.fake.sent_numbers() and audience[120] not in r.fake.sent_numbers()
    outcomes = {row["number"]: row["outcome"] for row in r.report()}
    assert outcomes[audience[0]] == md.OPTED_OUT and outcomes[audience[120]] == md.OPTED_OUT
    assert len(r.fake.sent) == 148


async def test_a_caption_follows_the_file_to_the_numbers_that_got_it(rig):
    r = rig()
    audience = numbers(130)
    r.fake.not_delivered = {audience[3]}
    r.fake.set_credit("Photo", 1000)
    media = Media.from_bytes(b"\xff\xd8\xff" + b"x" * 500, "jpg")
    job_id = r.draft(audience, text="Look at this", media=media)
    await r.runner.confirm(job_id, 1)
    await r.run(job_id)
    funcs = [call["Func"] for call in r.fake.calls if call["Func"].startswith("Send")]
    assert funcs == ["SendPhotoMass", "SendMessageMass", "SendPhotoMass", "SendMessageMass"]
    photo_to = [n for f, n in r.fake.sent if f == "SendPhotoMass"]
    text_to = [n for f, n in r.fake.sent if f == "SendMessageMass"]
    assert sorted(photo_to) == sorted(audience)
    assert audience[3] not in text_to and len(text_to) == 129
    rows = {row["number"]: row for row in r.report()}
    assert rows[audience[3]]["outcome"] == "not_delivered" and rows[audience[3]]["caption"] == ""
    assert rows[audience[0]]["caption"] == "sent"


async def test_a_refused_batch_fails_pauses_and_is_retried(rig):
    r = rig()
    audience = numbers(30)
    r.fake.set_limit("Message", 10)  # the client checks the limit first: nothing goes out
    job_id = r.draft(audience, text="this text is far too long")
    await r.runner.confirm(job_id, 1)
    await r.run(job_id)
    job = r.job()
    assert job["status"] == md.PAUSED and job["pause_reason"] == md.ERROR
    assert job["units"][0]["state"] == md.FAILED and r.fake.sent == []
    assert r.notifier.of("paused") == [md.ERROR]
    r.fake.set_limit("Message", 4096)
    await r.services.miogram.checks.limits(refresh=True)
    assert (await r.runner.resume(job_id, 1))[0]
    await r.run(job_id)
    assert r.job()["status"] == md.DONE and len(r.fake.sent) == 30


async def test_cancel_during_a_batch_stops_after_it(rig):
    fake = FakeMioGram(secret=MIOGRAM_SECRET)
    gate = Gate(fake.transport(), hold=1)
    r = rig(fake, transport=gate)
    audience = numbers(250)
    job_id = r.draft(audience)
    await r.runner.confirm(job_id, 1)
    r.runner.chains.active.add((job_id, ""))  # as kick() does
    task = asyncio.create_task(r.run(job_id))
    await asyncio.wait_for(gate.arrived.wait(), 5)
    after = await r.runner.cancel(job_id, by=1)
    assert after["status"] == md.CANCELLING
    gate.release.set()
    await task
    job = r.job()
    assert job["status"] == md.CANCELLED and mass_sizes(fake) == [100]
    assert r.notifier.of("finished") == [md.CANCELLED]
    outcomes = [row["outcome"] for row in r.report() if row["number"].startswith("+")]
    assert outcomes.count("sent") == 100 and outcomes.count(md.NOT_SENT) == 150


async def test_pause_during_a_batch_then_resume(rig):
    fake = FakeMioGram(secret=MIOGRAM_SECRET)
    gate = Gate(fake.transport(), hold=1)
    r = rig(fake, transport=gate)
    job_id = r.draft(numbers(150))
    await r.runner.confirm(job_id, 1)
    task = asyncio.create_task(r.run(job_id))
    await asyncio.wait_for(gate.arrived.wait(), 5)
    assert (await r.runner.pause(job_id, 1))["status"] == md.PAUSED
    gate.release.set()
    await task
    job = r.job()
    assert job["status"] == md.PAUSED and [u["state"] for u in job["units"]] == [md.UNIT_DONE, md.PENDING]
    assert (await r.runner.resume(job_id, 1))[0]
    await r.run(job_id)
    assert r.job()["status"] == md.DONE and len(fake.sent) == 150


async def test_cancelling_a_draft_or_a_paused_job_is_immediate(rig):
    r = rig()
    draft = r.draft(numbers(5), job_id="d1")
    assert (await r.runner.cancel(draft, 1))["status"] == md.CANCELLED
    assert r.notifier.of("finished") == []  # nothing was sent: no report
    job_id = r.draft(numbers(150), job_id="j2")
    r.fake.set_credit("Message", 100)
    await r.runner.confirm(job_id, 1)
    await r.run(job_id)
    assert r.job(job_id)["status"] == md.PAUSED
    assert (await r.runner.cancel(job_id, 1))["status"] == md.CANCELLED
    assert r.notifier.of("finished") == [md.CANCELLED]


async def test_a_scheduled_job_starts_once_or_is_cancelled_without_a_report(rig):
    r = rig()
    job_id = r.draft(numbers(3), job_id="s1")
    assert await r.runner.schedule(job_id, 4_000_000_000.0, by=1)
    assert r.job(job_id)["status"] == md.SCHEDULED and r.fake.sent == []
    await r.runner.start_scheduled(job_id)
    await r.runner.start_scheduled(job_id)  # a repeat after a crash does nothing more
    assert r.kicked == [job_id]
    await r.run(job_id)
    assert r.job(job_id)["status"] == md.DONE and len(r.fake.sent) == 3
    other = r.draft(numbers(3, 10), job_id="s2")
    await r.runner.schedule(other, 4_000_000_000.0, by=1)
    assert (await r.runner.cancel(other, by=1))["status"] == md.CANCELLED
    await r.runner.start_scheduled(other)
    assert r.notifier.of("finished") == [md.DONE] and len(r.fake.sent) == 3


async def test_recover_resumes_running_jobs_and_sends_missing_reports(rig):
    r = rig()
    a = r.draft(numbers(150), job_id="a")
    b = r.draft(numbers(3, 500), job_id="b")
    await r.runner.confirm(a, 1)
    await r.runner.step(a)  # one batch done, then the bot shuts down between batches:
    await r.runner.park(a)  # the chain ends; the next batch (not sent) is pending again
    await r.runner.confirm(b, 1)
    await r.run(b)
    table = r.store.table(md.TABLE)
    table.update(b, report_sent=False)  # crashed before the report went out
    fresh = rig(r.fake, store=crashed_copy(r.store))
    assert await fresh.runner.recover() == [a]
    assert fresh.notifier.of("unknown") == []
    assert fresh.notifier.of("finished") == [md.DONE]
    await fresh.run(a)
    assert fresh.job(a)["status"] == md.DONE
    assert sorted(fresh.fake.sent_numbers()) == sorted(numbers(150) + numbers(3, 500))
