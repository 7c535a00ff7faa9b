"""A job's file: kept in the spool beside the state, fetched again from Telegram or its URL when
the spool lost it (a restart on a fresh disk)."""

from __future__ import annotations

from pathlib import Path

from bot.clients.miogram.media import Media
from bot.massjobs.docs import JobDoc
from bot.massjobs.spool import spool_dir
from handlers.mass.files import TooBig
from handlers.mass.runtime import MassRuntime

#: a media file from a URL (the Bridge) larger than this is refused
URL_MEDIA_MAX = 50 * 1024 * 1024


class JobMedia:
    """Loads the files of jobs for the runner; downloads URLs for the Bridge."""

    def __init__(self, runtime: MassRuntime) -> None:
        self.runtime = runtime

    async def load(self, job: JobDoc) -> Media:
        """The job's file: from the spool, else downloaded again from Telegram or its URL."""
        media = job["content"]["media"]
        assert media is not None, "a text job has no file"
        path = Path(media["spool"]) if media.get("spool") else None
        if path is None or not path.exists():
            path = spool_dir(self.runtime.services.store.path) / f"{job['id']}.{media['ext']}"
            if media.get("file_id"):
                file = await self.runtime.bot.get_file(media["file_id"])
                await file.download_to_drive(custom_path=path)
            elif media.get("url"):
                await self.download_url(media["url"], path)
            else:
                raise FileNotFoundError("the job's file is gone")
            media["spool"] = str(path)  # the job's own document: written at once, no await between
            self.runtime.jobs.save(job)
        return Media(path, media["ext"], kind=media.get("kind"))

    async def download_url(self, url: str, path: Path) -> int:
        """Download ``url`` to ``path`` (at most ``URL_MEDIA_MAX`` bytes); returns the size."""
        size = 0
        async with self.runtime.services.http.stream("GET", url) as response:
            response.raise_for_status()
            with path.open("wb") as handle:
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > URL_MEDIA_MAX:
                        handle.close()
                        path.unlink(missing_ok=True)
                        raise TooBig(size, URL_MEDIA_MAX)
                    handle.write(chunk)
        return size
