"""Where a job's file waits until the job ends."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from bot.massjobs.docs import JobDoc, MediaDoc


def spool_dir(state_path: Path | None) -> Path:
    """Beside the state file (``<state>.media``), or a per-process temporary directory when the
    state has no file; created if missing."""
    if state_path is not None:
        directory = state_path.parent / f"{state_path.name}.media"
    else:
        directory = Path(tempfile.gettempdir()) / f"mass-media-{os.getpid()}"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def drop_spool(job: JobDoc) -> None:
    """Delete the job's spooled file, if any (it is fetched again should it be needed)."""
    drop_media(job["content"].get("media"))


def drop_media(media: MediaDoc | None) -> None:
    """Delete a spooled file described by ``media``, if any."""
    spool = media.get("spool") if media is not None else None
    if spool:
        try:
            Path(spool).unlink()
        except OSError:
            pass
