"""File-system helpers of the file store: atomic replacement, directory fsync, moving aside."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path


def directory_of(path: Path) -> Path:
    return path.parent if str(path.parent) else Path(".")


def atomic_write(path: Path, payload: bytes) -> None:
    """Replace ``path`` with ``payload`` so that a crash leaves the old or the new file whole."""
    directory = directory_of(path)
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(directory)


def fsync_dir(directory: Path) -> None:
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def remove_stale_temps(path: Path) -> None:
    """Remove temp files a crash left behind (``atomic_write`` names them ``.<name>.*.tmp``)."""
    for leftover in directory_of(path).glob(f".{path.name}.*.tmp"):
        try:
            leftover.unlink()
        except OSError:
            pass


def move_aside(*paths: Path) -> str:
    """Rename each existing path to ``<name>.corrupt-<time>`` (unique); describe where."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    moved = []
    for path in paths:
        if not path.exists():
            continue
        aside = path.with_name(f"{path.name}.corrupt-{stamp}")
        n = 1
        while aside.exists():
            n += 1
            aside = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
        os.replace(path, aside)
        moved.append(str(aside))
    return " and ".join(moved) if moved else "nowhere (it disappeared)"
