"""The mass-send state machine (bot/massjobs/runner.py) against the MioGram fake, without Telegram.

Each test drives :class:`MassRunner` step by step, the way the job queue does in the bot, and
looks at what reached the fake: exactly-once batches, unknown outcomes after a crash or a 999,
credit pauses, opt-outs at send time, captions after media, cancellation, and a report that
lists every number once.
"""

from __future__ import annotations

import asyncio
import copy
import csv
import io
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.clients.miogram.client import Media, MioGramClient, Outcome, RetryPolicy
from bot.massjobs import runner as mr
from bot.runtime.i18n import Catalogue
from bot.runtime.scheduler import Scheduler
from bot.runtime.services import Services
from bot.store.state import Store
from tests.fakes.miogram import FakeMioGram
from tests.harness import MIOGRAM_SECRET, test_config

URL = "http://miogram.test/dojob.php"


def numbers(count: int, start: int = 0) -> list[str]:
    return [f"+98912{1000000 + start + i}" for i in range(count)]


class RecordingNotifier:
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    async def progress(self, job: dict[str, Any], *, force: bool = False) -> None:
        self.events.append(("progress", job["status"]))

    async def unknown_unit(self, job: dict[str, Any], index: int) -> None:
        self.events.append(("unknown", index))

    async def paused(self, job: dict[str, Any], reason: str, detail: str) -> None:
        self.events.append(("paused", reason))

    async def finished(self, job: dict[str, Any]) -> None:
        self.events.append(("finished", job["status"]))

    async def resumed(self, job: dict[str, Any]) -> None:
        self.events.append(("resumed", job["id"]))

    def of(self, kind: str) -> list[Any]:
        return [value for name, value in self.events if name == kind]


class Rig:
    """A runner on an in-memory store, a real MioGram client and the fake."""

    def __init__(
        self,
        fake: FakeMioGram,
        store: Store | None = None,
        batch_size: int = 100,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.fake = fake
        self.store = store or Store.memory()
        config = test_config("http://telegram.test", mass_batch_size=batch_size, miogram_url=URL)
        self.http = httpx.AsyncClient(transport=transport or fake.transport())
        client = MioGramClient(
            self.http,
            url=URL,
            secret=MIOGRAM_SECRET,
            batch_size=batch_size,
            retry=RetryPolicy(attempts=1),
            sleep=_no_sleep,
        )
        self.services = Services(
            config=config,
            store=self.store,
            i18n=Catalogue.load(),
            scheduler=Scheduler(self.store, {}),
            http=self.http,
            resont=None,
            miogram=client,  # type: ignore[arg-type]
            clock=lambda: datetime.now(UTC),
        )
        self.notifier = RecordingNotifier()
        self.kicked: list[str] = []
        self.media: dict[str, Media] = {}
        self.runner = mr.MassRunner(
            self.services, self.notifier, self._load_media, lambda job_id, delay: self.kicked.append(job_id)
        )

    async def _load_media(self, job: dict[str, Any]) -> Media:
        return self.media[job["id"]]

    def draft(
        self,
        audience: list[str],
        *,
        text: str | None = "Hello",
        media: Media | None = None,
        channel: str = "messenger",
        batch_size: int = 100,
        job_id: str = "job1",
    ) -> str:
        content: dict[str, Any] = {"text": text, "media": None}
        if media is not None:
            self.media[job_id] = media
            content["media"] = {"ext": media.extension, "size": media.size, "kind": media.kind.value}
        self.store.table(mr.TABLE).put(
            job_id,
            {
                "id": job_id,
                "status": mr.DRAFT,
                "created_by": 1,
                "created_at": 0,
                "chat_id": -1001,
                "content": content,
                "channel": channel,
                "batch_size": batch_size,
                "units": [],
                "numbers": list(audience),
                "opted_out": [],
                "invalid": [["12", "too short"]],
                "duplicates": 0,
                "audience": "test",
            },
        )
        return job_id

    async def run(self, job_id: str, limit: int = 1000) -> None:
        """Step until the runner stops by itself (what the job-queue chain does)."""
        for _ in range(limit):
            if not await self.runner.step(job_id):
                return
        raise AssertionError("the runner did not stop")

    def job(self, job_id: str = "job1") -> dict[str, Any]:
        return mr.load(self.store, job_id)

    def report(self, job_id: str = "job1") -> list[dict[str, str]]:
        text = mr.report_csv(self.job(job_id)).decode("utf-8-sig")
        return list(csv.DictReader(io.StringIO(text)))

    async def close(self) -> None:
        await self.http.aclose()


async def _no_sleep(_: float) -> None:
    return None


@pytest.fixture
async def rig():
    made: list[Rig] = []

    def make(fake: FakeMioGram | None = None, **kwargs: Any) -> Rig:
        r = Rig(fake or FakeMioGram(secret=MIOGRAM_SECRET), **kwargs)
        made.append(r)
        return r

    yield make
    for r in made:
        await r.close()


def mass_sizes(fake: FakeMioGram, func: str = "SendMessageMass") -> list[int]:
    return [len(call["Phone"].split(",")) for call in fake.calls_of(func)]


# --- units


def test_units_split_batches_and_parts():
    units = mr.make_units(numbers(250), 100, ["text"])
    assert [(u["batch"], len(u["numbers"])) for u in units] == [(0, 100), (1, 100), (2, 50)]
    units = mr.make_units(numbers(150), 100, ["media", "text"])
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
    assert job["status"] == mr.DONE and job["report_sent"]
    assert r.notifier.of("finished") == [mr.DONE]
    rows = r.report()
    assert [row["number"] for row in rows if row["outcome"] != mr.INVALID_INPUT] == audience
    outcomes = {row["number"]: row["outcome"] for row in rows}
    assert outcomes[audience[7]] == Outcome.NOT_DELIVERED.value
    assert sum(1 for o in outcomes.values() if o == "sent") == 249
    assert outcomes["12"] == mr.INVALID_INPUT
    c = mr.count(job)
    assert (c.total, c.sent, c.not_delivered, c.left, c.batches, c.batches_done) == (250, 249, 1, 0, 3, 3)
    assert r.runner.active == set()


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
    assert seen == [mr.IN_FLIGHT, mr.PENDING, mr.UNIT_DONE, mr.IN_FLIGHT]


async def test_a_batch_writes_its_own_small_document_not_the_whole_audience(rig):
    r = rig(batch_size=10)
    job_id = r.draft(numbers(1000), batch_size=10)
    table = r.store.table(mr.TABLE)
    writes: list[int] = []
    put = table.put
    table.put = lambda key, doc: (writes.append(len(doc.get("numbers", []))), put(key, doc))[1]  # type: ignore[method-assign]
    await r.runner.confirm(job_id, 1)
    await r.run(job_id)
    assert len(r.fake.calls_of("SendMessageMass")) == 100
    assert len(writes) <= 4, writes  # confirmed, done, finished, report sent: not once per batch
    assert len(r.store.table(mr.UNITS)) == 100


# --- crash in flight → unknown → an admin decides


class Gate(httpx.AsyncBaseTransport):
    """Holds the Nth send request until released (the window in which the process "dies")."""

    def __init__(self, inner: httpx.AsyncBaseTransport, hold: int) -> None:
        self.inner = inner
        self.hold = hold
        self.sends = 0
        self.arrived = asyncio.Event()
        self.release = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = (await request.aread()).decode()
        if "Mass" in body:
            self.sends += 1
            if self.sends == self.hold:
                self.arrived.set()
                await self.release.wait()
        return await self.inner.handle_async_request(request)


def crashed_copy(store: Store) -> Store:
    """What a restarted process reads: the state as it was written at this instant."""
    copy_ = Store.memory()
    for name in (mr.TABLE, mr.UNITS, "optout", "lists"):
        for key, doc in store.table(name).items():
            copy_.table(name).put(key, copy.deepcopy(doc))
    return copy_


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
    assert job["status"] == mr.PAUSED and job["pause_reason"] == mr.UNKNOWN_BATCH
    assert [u["state"] for u in job["units"]] == [mr.UNIT_DONE, mr.UNKNOWN, mr.PENDING]
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
    assert job["status"] == mr.DONE
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
    assert job["status"] == mr.PAUSED and job["pause_reason"] == mr.UNKNOWN_BATCH
    assert job["units"][0]["state"] == mr.UNKNOWN and job["units"][1]["state"] == mr.PENDING
    assert r.notifier.of("unknown") == [0]
    assert mr.count(job).sent == 0  # nothing is marked sent that is not known to be
    # The report shows 97 of the 100 (say the last three were still queued at the gateway).
    r.fake.report_log = [rec for rec in r.fake.report_log if rec["Phone"] not in audience[97:100]]
    r.fake.sent = [s for s in r.fake.sent if s[1] not in audience[97:100]]
    known = {n: "sent" for n in audience[:97]}
    ok, _ = await r.runner.resolve(job_id, 0, "resend_missing", 1, known)
    assert ok
    await r.run(job_id)
    assert r.job()["status"] == mr.DONE
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
    assert job["status"] == mr.PAUSED and job["pause_reason"] == mr.NO_CREDIT
    assert r.notifier.of("paused") == [mr.NO_CREDIT]
    assert [u["state"] for u in job["units"]] == [mr.UNIT_DONE, mr.PENDING, mr.PENDING]
    assert job["units"][1]["results"] == {}
    assert mr.count(job).sent == 100 and len(r.fake.sent) == 100
    r.fake.set_credit("Message", 1000)
    ok, _ = await r.runner.resume(job_id, by=1)
    assert ok and r.notifier.of("resumed") == [job_id]
    await r.run(job_id)
    assert r.job()["status"] == mr.DONE
    assert sorted(r.fake.sent_numbers()) == sorted(audience)


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
    assert outcomes[audience[0]] == mr.OPTED_OUT and outcomes[audience[120]] == mr.OPTED_OUT
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
    assert job["status"] == mr.PAUSED and job["pause_reason"] == mr.ERROR
    assert job["units"][0]["state"] == mr.FAILED and r.fake.sent == []
    assert r.notifier.of("paused") == [mr.ERROR]
    r.fake.set_limit("Message", 4096)
    await r.services.miogram.limits(refresh=True)
    assert (await r.runner.resume(job_id, 1))[0]
    await r.run(job_id)
    assert r.job()["status"] == mr.DONE and len(r.fake.sent) == 30


async def test_cancel_during_a_batch_stops_after_it(rig):
    fake = FakeMioGram(secret=MIOGRAM_SECRET)
    gate = Gate(fake.transport(), hold=1)
    r = rig(fake, transport=gate)
    audience = numbers(250)
    job_id = r.draft(audience)
    await r.runner.confirm(job_id, 1)
    r.runner.active.add(job_id)  # as kick() does
    task = asyncio.create_task(r.run(job_id))
    await asyncio.wait_for(gate.arrived.wait(), 5)
    after = await r.runner.cancel(job_id, by=1)
    assert after["status"] == mr.CANCELLING
    gate.release.set()
    await task
    job = r.job()
    assert job["status"] == mr.CANCELLED and mass_sizes(fake) == [100]
    assert r.notifier.of("finished") == [mr.CANCELLED]
    outcomes = [row["outcome"] for row in r.report() if row["number"].startswith("+")]
    assert outcomes.count("sent") == 100 and outcomes.count(mr.NOT_SENT) == 150


async def test_pause_during_a_batch_then_resume(rig):
    fake = FakeMioGram(secret=MIOGRAM_SECRET)
    gate = Gate(fake.transport(), hold=1)
    r = rig(fake, transport=gate)
    job_id = r.draft(numbers(150))
    await r.runner.confirm(job_id, 1)
    task = asyncio.create_task(r.run(job_id))
    await asyncio.wait_for(gate.arrived.wait(), 5)
    assert (await r.runner.pause(job_id, 1))["status"] == mr.PAUSED
    gate.release.set()
    await task
    job = r.job()
    assert job["status"] == mr.PAUSED and [u["state"] for u in job["units"]] == [mr.UNIT_DONE, mr.PENDING]
    assert (await r.runner.resume(job_id, 1))[0]
    await r.run(job_id)
    assert r.job()["status"] == mr.DONE and len(fake.sent) == 150


async def test_cancelling_a_draft_or_a_paused_job_is_immediate(rig):
    r = rig()
    draft = r.draft(numbers(5), job_id="d1")
    assert (await r.runner.cancel(draft, 1))["status"] == mr.CANCELLED
    assert r.notifier.of("finished") == []  # nothing was sent: no report
    job_id = r.draft(numbers(150), job_id="j2")
    r.fake.set_credit("Message", 100)
    await r.runner.confirm(job_id, 1)
    await r.run(job_id)
    assert r.job(job_id)["status"] == mr.PAUSED
    assert (await r.runner.cancel(job_id, 1))["status"] == mr.CANCELLED
    assert r.notifier.of("finished") == [mr.CANCELLED]


async def test_a_scheduled_job_starts_once_or_is_cancelled_without_a_report(rig):
    r = rig()
    job_id = r.draft(numbers(3), job_id="s1")
    assert await r.runner.schedule(job_id, 4_000_000_000.0, by=1)
    assert r.job(job_id)["status"] == mr.SCHEDULED and r.fake.sent == []
    await r.runner.start_scheduled(job_id)
    await r.runner.start_scheduled(job_id)  # a repeat after a crash does nothing more
    assert r.kicked == [job_id]
    await r.run(job_id)
    assert r.job(job_id)["status"] == mr.DONE and len(r.fake.sent) == 3
    other = r.draft(numbers(3, 10), job_id="s2")
    await r.runner.schedule(other, 4_000_000_000.0, by=1)
    assert (await r.runner.cancel(other, by=1))["status"] == mr.CANCELLED
    await r.runner.start_scheduled(other)
    assert r.notifier.of("finished") == [mr.DONE] and len(r.fake.sent) == 3


async def test_recover_resumes_running_jobs_and_sends_missing_reports(rig):
    r = rig()
    a = r.draft(numbers(150), job_id="a")
    b = r.draft(numbers(3, 500), job_id="b")
    await r.runner.confirm(a, 1)
    await r.runner.step(a)  # one batch done, then the process stops between batches
    await r.runner.confirm(b, 1)
    await r.run(b)
    table = r.store.table(mr.TABLE)
    table.update(b, report_sent=False)  # crashed before the report went out
    fresh = rig(r.fake, store=crashed_copy(r.store))
    assert await fresh.runner.recover() == [a]
    assert fresh.notifier.of("unknown") == []
    assert fresh.notifier.of("finished") == [mr.DONE]
    await fresh.run(a)
    assert fresh.job(a)["status"] == mr.DONE
    assert sorted(fresh.fake.sent_numbers()) == sorted(numbers(150) + numbers(3, 500))


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
            if job["status"] in mr.FINISHED:
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
                doc = mr.load(state, job_id)
                pending = [u for u in doc["units"] if u["state"] == mr.PENDING]
                if pending and job["status"] == mr.RUNNING:
                    i = next(i for i, u in enumerate(doc["units"]) if u["state"] == mr.PENDING)
                    doc["units"][i]["state"] = mr.IN_FLIGHT
                    doc["units"][i]["sending"] = list(doc["units"][i]["numbers"])
                    mr.save_unit(state, doc, i)
                    # the gateway got that request and sent it before the process died
                    for n in doc["units"][i]["numbers"]:
                        fake.sent.append(("SendMessageMass", n))
                rigs.append(Rig(fake, store=state, batch_size=batch))
                await rigs[-1].runner.recover()
                continue
            if job["status"] == mr.PAUSED:
                unknown = [i for i, u in enumerate(job["units"]) if u["state"] == mr.UNKNOWN]
                if unknown:
                    await r.runner.resolve(job_id, unknown[0], "skip", 1)
                else:
                    await r.runner.resume(job_id, 1)
                continue
            await r.runner.step(job_id)
        final = rigs[-1].job(job_id)
        assert final["status"] == mr.DONE, final["status"]
        sent = fake.sent_numbers()
        assert len(sent) == len(set(sent)), "a number was sent twice"
        rows = [row for row in rigs[-1].report(job_id) if row["number"].startswith("+")]
        assert [row["number"] for row in rows] == audience
        sent_in_report = {row["number"] for row in rows if row["outcome"] == "sent"}
        assert sent_in_report <= set(sent), "a number is reported sent that was not"
    finally:
        for r in rigs:
            await r.close()
