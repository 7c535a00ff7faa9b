"""The MioGram fake in a process of its own, as the real MioGram is a server on another machine.

In the bot's process the fake's HTTP server and its request handling share the bot's
interpreter lock: every request the fake parses and answers would be CPU time taken from the
bot, and the benchmark would charge the fake's cost to the bot. Here the fake runs in a child
process (its own interpreter, on the machine's other core); the parent talks to it over a pipe
to set its latency and to read what it received.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from tests.fakes.miogram import FakeMioGram


@dataclass(frozen=True)
class Received:
    """What the fake received, read from the child process."""

    mass_requests: int  #: SendMessageMass requests
    by_robot: dict[str, int]  #: SendMessageMass requests per sending agent
    numbers_sent: int  #: numbers the fake sent, all functions
    distinct_sent: int  #: distinct numbers among them


@dataclass(frozen=True)
class Served:
    url: str


def _serve(conn: Connection, secret: str, credit: int, robots: list[str]) -> None:
    """The child process: one fake on 127.0.0.1, commands from the pipe until ``stop``."""
    fake = FakeMioGram(secret=secret)
    fake.set_credit("Message", credit)
    if robots:
        fake.robots = robots
    with fake.serve() as server:
        conn.send(server.url)
        while True:
            command, value = conn.recv()
            if command == "stop":
                break
            conn.send(_command(fake, command, value))


def _command(fake: FakeMioGram, command: str, value: Any) -> Any:
    if command == "latency":
        fake.latency = float(value)
        return None
    mass = fake.calls_of("SendMessageMass")
    robots: dict[str, int] = {}
    for call in mass:
        robots[call.get("Robot", "")] = robots.get(call.get("Robot", ""), 0) + 1
    numbers = fake.sent_numbers()
    return Received(len(mass), robots, len(numbers), len(set(numbers)))


class RemoteMioGram:
    """A :class:`~tests.fakes.miogram.FakeMioGram` served from a child process.

    ``serve()`` is a context manager like the in-process fake's (its value has ``url``), so
    ``bench.common.bot`` takes either."""

    def __init__(self, *, secret: str, credit: int, robots: tuple[str, ...] = (), latency: float = 0.0) -> None:
        self.secret = secret
        self.credit = credit
        self.robots = list(robots)
        self.initial_latency = latency
        self.conn: Connection | None = None

    @contextmanager
    def serve(self) -> Iterator[Served]:
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        process = context.Process(target=_serve, args=(child, self.secret, self.credit, self.robots), daemon=True)
        process.start()
        self.conn = parent
        try:
            url = parent.recv()
            self.set_latency(self.initial_latency)
            yield Served(url)
        finally:
            parent.send(("stop", None))
            process.join(10)
            if process.is_alive():
                process.kill()
            self.conn = None

    def _ask(self, command: str, value: Any = None) -> Any:
        if self.conn is None:
            raise RuntimeError("the remote fake is not being served")
        self.conn.send((command, value))
        return self.conn.recv()

    def set_latency(self, seconds: float) -> None:
        self._ask("latency", seconds)

    def received(self) -> Received:
        return self._ask("received")
