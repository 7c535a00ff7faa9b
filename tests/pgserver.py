"""A real PostgreSQL 15 server for the tests: started once per session, stopped at its end.

Debian's ``postgresql`` package provides the binaries (``/usr/lib/postgresql/15/bin``; ``.ci/run``
installs the package when it is missing). ``initdb`` refuses to run as root, so under root the
server runs as ``nobody`` in a temporary directory it owns. It listens on 127.0.0.1 (a free port)
and on a Unix socket in that directory; authentication is ``trust`` (loopback only).

Every test gets its own database (:meth:`PostgresServer.new_database`), so advisory locks and
tables never leak between tests. Drills restart the server (:meth:`restart`) or keep it down for
a while (:meth:`stop` / :meth:`start`) to play a database that goes away.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg

VERSION = "15"
SEARCH = (f"/usr/lib/postgresql/{VERSION}/bin", "/usr/lib/postgresql/*/bin")


def binaries() -> Path:
    """The directory of ``initdb``/``pg_ctl``; a clear error when PostgreSQL is not installed."""
    for pattern in SEARCH:
        for candidate in sorted(Path("/").glob(pattern.lstrip("/")), reverse=True):
            if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
                return candidate
    raise RuntimeError(
        "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: install Debian's "
        "'postgresql' package (apt-get install -y postgresql); .ci/run does this"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PostgresServer:
    """One throw-away cluster; see the module docstring."""

    def __init__(self) -> None:
        self.bin = binaries()
        self.root = Path(tempfile.mkdtemp(prefix="bot-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = free_port()
        self.user = "nobody" if os.geteuid() == 0 else None
        self.counter = itertools.count(1)
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        os.chmod(self.root, 0o755)

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            user=self.user,
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=120,
            check=check,
        )

    def init(self) -> None:
        self.run(
            "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"
        )

    def start(self) -> None:
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c max_connections=200 -c shared_buffers=32MB"
        )
        result = self.run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", options, "start", check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"PostgreSQL did not start: {result.stderr}\n{self.log_tail()}")

    def stop(self, mode: str = "fast") -> None:
        """``fast``: connections are terminated (as a restart of a managed database does)."""
        self.run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop", check=False)

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def socket_url(self, dbname: str = "postgres") -> str:
        return f"postgresql:///{dbname}?host={self.root}&port={self.port}&user=postgres"

    def new_database(self) -> str:
        """A fresh, empty database; returns its URL (TCP on 127.0.0.1)."""
        name = f"t{os.getpid()}_{next(self.counter)}"
        self.sql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def sql(self, statement: str, dbname: str = "postgres") -> None:
        """Run one statement as the superuser (autocommit: CREATE DATABASE needs it)."""
        with psycopg.connect(self.url(dbname), autocommit=True) as conn:
            conn.execute(statement.encode())

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
