"""A mass runner on an in-memory store, a real MioGram client and the MioGram fake, without
Telegram: what the runner tests drive, step by step, the way the job queue does in the bot."""

from __future__ import annotations

import asyncio
import copy
import csv
import io
from datetime import UTC, datetime
from typing import Any

import httpx

from bot.clients.miogram.client import MioGramClient
from bot.clients.miogram.media import Media
from bot.clients.miogram.transport import RetryPolicy
from bot.massjobs import docs as md
from bot.massjobs import storage
from bot.massjobs.ports import RunnerDeps
from bot.massjobs.report import report_csv
from bot.massjobs.runner import MassRunner
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

    async def lane_refused(self, job: dict[str, Any], robot: str, detail: str) -> None:
        self.events.append(("lane", robot))

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
        robots: tuple[str, ...] = ("",),
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
        deps = RunnerDeps(
            store=self.store,
            client=client.mass,
            locks=self.services.locks,
            clock=lambda: self.services.clock().timestamp(),
            cancel_scheduled=self.services.scheduler.cancel,
            robots=robots,
        )
        self.runner = MassRunner(
            deps, self.notifier, self._load_media, lambda job_id, lane, delay: self.kicked.append(job_id)
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
        self.store.table(md.TABLE).put(
            job_id,
            {
                "id": job_id,
                "status": md.DRAFT,
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

    async def run_lanes(self, job_id: str, limit: int = 1000) -> None:
        """Every live lane steps side by side until each chain stops (the job queue in the bot)."""

        async def lane(robot: str) -> None:
            for _ in range(limit):
                if not await self.runner.step(job_id, robot):
                    return
            raise AssertionError("the runner did not stop")

        await asyncio.gather(*(lane(robot) for robot in self.runner.lanes.live))

    def job(self, job_id: str = "job1") -> dict[str, Any]:
        return storage.load(self.store, job_id)

    def report(self, job_id: str = "job1") -> list[dict[str, str]]:
        text = report_csv(self.job(job_id)).decode("utf-8-sig")
        return list(csv.DictReader(io.StringIO(text)))

    async def close(self) -> None:
        await self.http.aclose()


async def _no_sleep(_: float) -> None:
    return None


def mass_sizes(fake: FakeMioGram, func: str = "SendMessageMass") -> list[int]:
    return [len(call["Phone"].split(",")) for call in fake.calls_of(func)]


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
    for name in (md.TABLE, md.UNITS, "optout", "lists"):
        for key, doc in store.table(name).items():
            copy_.table(name).put(key, copy.deepcopy(doc))
    return copy_
