"""The runner's cache of assembled jobs (:class:`bot.massjobs.storage.JobBook`): a send reads the
store once, writes one record per batch, and the cache never says what the store does not."""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest

from bot.massjobs import docs as md
from bot.massjobs import storage
from bot.massjobs.docs import job_from_doc
from bot.massjobs.ports import NotDurable
from bot.store.state import Store
from tests.massjobs.rig import crashed_copy, numbers


def count_calls(obj: Any, name: str) -> list[Any]:
    """Wrap ``obj.name`` so every call is recorded (the call still happens)."""
    calls: list[Any] = []
    original = getattr(obj, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return original(*args, **kwargs)

    setattr(obj, name, wrapper)
    return calls


async def test_a_send_reads_the_job_from_the_store_once_not_per_batch(rig):
    r = rig(batch_size=10)
    job_id = r.draft(numbers(300), batch_size=10)
    await r.runner.confirm(job_id, 1)
    job_reads = count_calls(r.store.table(md.TABLE), "get")
    unit_reads = count_calls(r.store.table(md.UNITS), "get")
    await r.run(job_id)
    assert len(r.fake.calls_of("SendMessageMass")) == 30
    assert job_reads == [] and unit_reads == []  # 30 batches, every one from the cached job
    assert r.job()["status"] == md.DONE  # ... and the store says what the cache said


async def test_a_batch_costs_one_state_write(rig):
    r = rig(batch_size=10)
    job_id = r.draft(numbers(1000), batch_size=10)
    await r.runner.confirm(job_id, 1)
    table = r.store.table(md.UNITS)
    many, single = count_calls(table, "put_many"), count_calls(table, "put")
    await r.run(job_id)
    assert len(r.fake.calls_of("SendMessageMass")) == 100
    # the first batch in flight, then each outcome written with the next batch in flight
    assert (len(many), len(single)) == (101, 0)


async def test_a_write_that_fails_leaves_the_cache_as_the_store_and_sends_nothing(rig):
    r = rig()
    job_id = r.draft(numbers(150))
    await r.runner.confirm(job_id, 1)
    table = r.store.table(md.UNITS)
    put_many = table.put_many

    def broken(items: Any) -> int:
        raise OSError("disk full")

    table.put_many = broken  # type: ignore[method-assign]
    with pytest.raises(OSError):
        await r.runner.step(job_id)
    assert r.fake.calls_of("SendMessageMass") == []  # nothing goes out that is not written first
    cached = r.runner.get(job_id)
    assert cached is not None and [u["state"] for u in cached["units"]] == [md.PENDING, md.PENDING]
    table.put_many = put_many  # type: ignore[method-assign]
    await r.run(job_id)
    assert r.job()["status"] == md.DONE and sorted(r.fake.sent_numbers()) == sorted(numbers(150))


async def test_writes_by_the_handlers_go_through_the_book(rig):
    r = rig()
    job_id = r.draft(numbers(150))
    await r.runner.confirm(job_id, 1)
    r.runner.book.update(job_id, progress={"chat_id": -1001, "message_id": 7})
    r.runner.book.update_unit(job_id, 1, checked={numbers(1)[0]: "sent"})
    for job in (r.runner.get(job_id), storage.load(r.store, job_id)):
        assert job is not None and job["progress"] == {"chat_id": -1001, "message_id": 7}
        assert job["units"][1]["checked"] == {numbers(1)[0]: "sent"}


async def test_a_batch_put_in_flight_ahead_is_pending_again_when_the_chain_stops(rig):
    """The next batch is written in flight with the previous outcome; a shutdown between the two
    puts it back, so a restart does not take it for a request that may have gone out."""
    r = rig()
    job_id = r.draft(numbers(250))
    await r.runner.confirm(job_id, 1)
    assert await r.runner.step(job_id)
    assert [u["state"] for u in r.job()["units"]] == [md.UNIT_DONE, md.IN_FLIGHT, md.PENDING]
    await r.runner.park(job_id)
    assert [u["state"] for u in r.job()["units"]] == [md.UNIT_DONE, md.PENDING, md.PENDING]
    fresh = rig(r.fake, store=crashed_copy(r.store))
    assert await fresh.runner.recover() == [job_id]
    assert fresh.notifier.of("unknown") == []
    await fresh.run(job_id)
    assert sorted(r.fake.sent_numbers()) == sorted(numbers(250))


async def test_a_pause_between_batches_sends_nothing_more(rig):
    r = rig()
    job_id = r.draft(numbers(250))
    await r.runner.confirm(job_id, 1)
    assert await r.runner.step(job_id)
    await r.runner.pause(job_id, 1)
    assert not await r.runner.step(job_id)
    assert len(r.fake.calls_of("SendMessageMass")) == 1
    assert [u["state"] for u in r.job()["units"]] == [md.UNIT_DONE, md.PENDING, md.PENDING]


def test_an_older_job_document_reads_with_defaults():
    job = job_from_doc({"id": "old1", "status": md.DONE, "content": {"text": "hi", "media": None}, "batch_size": 100})
    assert (job["numbers"], job["opted_out"], job["invalid"], job["duplicates"]) == ([], [], [], 0)
    assert job["channel"] == "messenger" and "units" not in job


async def test_on_the_state_file_each_batch_is_flushed_off_the_loop_before_its_request(rig, tmp_path, monkeypatch):
    """The per-batch write's fdatasync runs in a worker thread (the event loop serves the other
    lanes meanwhile), and every request still leaves only after its in-flight mark is on disk."""
    store = Store.open(tmp_path / "state.json")
    r = rig(store=store)
    job_id = r.draft(numbers(500))
    await r.runner.confirm(job_id, 1)
    real, flushes, flushed_before_request = os.fdatasync, [], []

    def fdatasync(fd: int) -> None:
        real(fd)
        flushes.append(threading.current_thread() is threading.main_thread())

    respond = r.fake.respond

    def recording_respond(request: Any) -> Any:
        if request.arg("Func") == "SendMessageMass":
            flushed_before_request.append(len(flushes))
        return respond(request)

    monkeypatch.setattr(os, "fdatasync", fdatasync)
    monkeypatch.setattr(r.fake, "respond", recording_respond)
    await r.run(job_id)
    assert r.job()["status"] == md.DONE and len(flushed_before_request) == 5
    # request k (from 1) follows at least k flushes: its unit's in-flight mark reached the disk
    assert all(done >= k for k, done in enumerate(flushed_before_request, start=1))
    # no batch write blocked the event loop on the disk (the audit line at the end may)
    assert not any(flushes[: flushed_before_request[-1] + 1])


async def test_the_next_request_is_built_while_the_flush_runs_and_leaves_after_it(rig, tmp_path, monkeypatch):
    """The flush of a batch's write runs while the next request is built (the disk works while
    the event loop does), and that request still leaves only once the flush is done."""
    store = Store.open(tmp_path / "state.json")
    r = rig(store=store)
    job_id = r.draft(numbers(300))
    await r.runner.confirm(job_id, 1)
    real, events = os.fdatasync, []

    def fdatasync(fd: int) -> None:
        if threading.current_thread() is not threading.main_thread():
            events.append("flush starts")
            threading.Event().wait(0.3)  # a slow disk
            events.append("flush done")
        real(fd)

    build_request = r.http.build_request

    def slow_build(method: str, url: Any, **kwargs: Any) -> Any:
        if b"SendMessageMass" in kwargs.get("content", b""):
            threading.Event().wait(0.15)  # building takes a while: a flush already begun runs on
            events.append("request built")
        return build_request(method, url, **kwargs)

    respond = r.fake.respond

    def noting_respond(request: Any) -> Any:
        if request.arg("Func") == "SendMessageMass":
            events.append("request arrives")
        return respond(request)

    monkeypatch.setattr(os, "fdatasync", fdatasync)
    monkeypatch.setattr(r.http, "build_request", slow_build)
    monkeypatch.setattr(r.fake, "respond", noting_respond)
    await r.run(job_id)
    assert r.job()["status"] == md.DONE and sorted(r.fake.sent_numbers()) == sorted(numbers(300))
    # batch 1 is put in flight by a write of its own; batches 2 and 3 travel with the outcome
    # of the batch before: that write's flush begins before their request is built, and the
    # request leaves after the flush
    overlapped = ["flush starts", "request built", "flush done", "request arrives"]
    assert [events[i : i + 4] for i in range(len(events) - 3)].count(overlapped) == 2
    assert events.count("request arrives") == events.count("request built") == 3


async def test_a_failed_flush_holds_the_prepared_request_and_puts_its_batch_back(rig, tmp_path, monkeypatch):
    store = Store.open(tmp_path / "state.json")
    r = rig(store=store)
    job_id = r.draft(numbers(300))
    await r.runner.confirm(job_id, 1)
    real, off_loop = os.fdatasync, []

    def fdatasync(fd: int) -> None:
        if threading.current_thread() is not threading.main_thread():
            off_loop.append(fd)
            if len(off_loop) == 2:  # batch 1's outcome with batch 2 put in flight
                raise OSError(5, "Input/output error")
        real(fd)

    monkeypatch.setattr(os, "fdatasync", fdatasync)
    with pytest.raises(NotDurable):
        await r.run(job_id)
    assert len(r.fake.calls_of("SendMessageMass")) == 1  # batch 2 did not go out
    await r.runner.park(job_id)  # what the job-queue chain does when a step raises
    stored = storage.load(store, job_id)
    assert stored is not None and stored["units"][1]["state"] == md.PENDING  # not taken as sent
    await r.run(job_id)
    assert r.job()["status"] == md.DONE
    assert sorted(r.fake.sent_numbers()) == sorted(numbers(300))  # each number exactly once
