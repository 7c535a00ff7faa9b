"""Media: size without reading, base64 streamed into the form body, limits checked before sending."""

from __future__ import annotations

import base64
import hashlib
import os
import tracemalloc
from pathlib import Path
from urllib.parse import unquote_to_bytes

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.clients.miogram.client import MioGramClient
from bot.clients.miogram.errors import MioGramFileTooBig
from bot.clients.miogram.media import Media, MediaKind
from bot.clients.miogram.models import Outcome
from tests.fakes.miogram import MIB, FakeMioGram

URL = "http://miogram.test/dojob.php"
A = "+989121234567"
B = "+989351112222"


@pytest.fixture
def client(fake: FakeMioGram, http: httpx.AsyncClient) -> MioGramClient:
    return MioGramClient(http, url=URL, secret=fake.secret, robot="Miogram")


async def collect(media: Media) -> bytes:
    return b"".join([chunk async for chunk in media.form_chunks()])


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=1, max_size=3000), st.integers(3, 700))
async def test_streamed_form_value_is_the_base64_of_the_content(data: bytes, chunk: int) -> None:
    media = Media(data, "bin", chunk_size=chunk)
    encoded = await collect(media)
    assert unquote_to_bytes(encoded) == base64.b64encode(data)
    assert await media.form_length() == len(encoded)
    assert set(encoded) <= set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789%")


@pytest.mark.parametrize("size", [1, 2, 3, 1000, 3 * 1024 + 1])
async def test_file_source_is_read_in_aligned_chunks(size: int, tmp_path: Path) -> None:
    path = tmp_path / "clip.MP4"
    data = os.urandom(size)
    path.write_bytes(data)
    media = Media(path, chunk_size=1000)  # not a multiple of 3: the reader realigns
    assert (media.size, media.extension, media.kind) == (size, "mp4", MediaKind.VIDEO)
    assert unquote_to_bytes(await collect(media)) == base64.b64encode(data)


def test_size_is_known_without_reading_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.mp4"
    with path.open("wb") as handle:
        handle.truncate(60 * MIB)  # sparse: nothing is written
    monkeypatch.setattr(Path, "open", lambda *a, **k: pytest.fail("the file was opened"))
    media = Media(path)
    assert media.size == 60 * MIB
    assert media.base64_length == 4 * ((60 * MIB + 2) // 3)


@pytest.mark.parametrize(
    ("extension", "kind"),
    [
        ("JPG", MediaKind.PHOTO),
        (".webm", MediaKind.VIDEO),
        ("ogg", MediaKind.AUDIO),
        ("txt", MediaKind.TEXT),
        ("docx", MediaKind.DOCUMENT),
        ("xyz", MediaKind.FILE),
    ],
)
def test_kind_from_extension(extension: str, kind: MediaKind) -> None:
    assert Media(b"x", extension).kind is kind


@pytest.mark.parametrize("extension", ["", "j p g", "a" * 11, "jpg;rm", None])
def test_bad_extensions_are_refused(extension: str | None) -> None:
    with pytest.raises(ValueError):
        Media(b"x", extension)


def test_empty_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(ValueError):
        Media(tmp_path / "empty.jpg")


async def test_file_over_the_limit_is_refused_before_sending(
    client: MioGramClient, fake: FakeMioGram, tmp_path: Path
) -> None:
    path = tmp_path / "big.mp4"
    with path.open("wb") as handle:
        handle.truncate(50 * MIB + 1)
    with pytest.raises(MioGramFileTooBig) as caught:
        await client.sends.send_video(A, Media(path))
    assert (caught.value.limit, caught.value.actual) == (50 * MIB, 50 * MIB + 1)
    assert "52,428,801" in str(caught.value) and "52,428,800" in str(caught.value)
    with pytest.raises(MioGramFileTooBig):
        await client.mass.send_photo_mass([A, B], Media(b"x" * (5 * MIB + 1), "jpg"))
    with pytest.raises(MioGramFileTooBig):
        await client.mass.send_mass([A, B], media=Media(b"x" * (20 * MIB + 1), "pdf"))
    assert [call["Func"] for call in fake.calls] == ["APIGetLimits"]


async def test_check_media_against_another_kind(client: MioGramClient) -> None:
    media = Media(b"x" * (6 * MIB), "mp4")
    await client.checks.check_media(media)  # a video: 50 MB allowed
    with pytest.raises(MioGramFileTooBig):
        await client.checks.check_media(media, "photo")


async def test_media_reaches_the_fake_intact_over_the_loopback_server(tmp_path: Path) -> None:
    data = os.urandom(3 * MIB + 7)
    path = tmp_path / "clip.mp4"
    path.write_bytes(data)
    fake = FakeMioGram()
    with fake.serve() as server:
        async with httpx.AsyncClient() as http:
            client = MioGramClient(http, url=f"{server.url}/dojob.php", secret=fake.secret, robot="Miogram")
            assert await client.sends.send_video(A, Media(path)) is Outcome.SENT
            batch = await client.mass.send_video_mass([A, B], Media(path))
    assert batch.sent == [A, B]
    digest = hashlib.sha256(data).hexdigest()
    assert [(f.func, f.extension, f.size, f.sha256) for f in fake.received_files] == [
        ("SendVideo", "mp4", len(data), digest),
        ("SendVideoMass", "mp4", len(data), digest),
    ]
    assert fake.credit("Video") == 100 - 3


class StreamingSink(httpx.AsyncBaseTransport):
    """A transport that consumes large request bodies chunk by chunk (as a socket would),
    decoding the Data field on the fly into a hash, and hands small requests to the fake."""

    def __init__(self, fake: FakeMioGram) -> None:
        self.inner = fake.transport()
        self.largest_chunk = 0
        self.declared = 0
        self.received = 0
        self.digest = hashlib.sha256()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.declared = int(request.headers.get("content-length", 0))
        if self.declared < MIB:
            return await self.inner.handle_async_request(request)
        head, escaped, b64 = b"", b"", b""
        async for chunk in request.stream:
            self.largest_chunk = max(self.largest_chunk, len(chunk))
            self.received += len(chunk)
            if head is not None:
                head += chunk
                if b"&Data=" not in head:
                    continue
                chunk, head = head.split(b"&Data=", 1)[1], None
            escaped += chunk
            cut = escaped.rfind(b"%", len(escaped) - 2) if b"%" in escaped[-2:] else len(escaped)
            b64 += unquote_to_bytes(escaped[:cut])
            escaped = escaped[cut:]
            whole = len(b64) - len(b64) % 4
            self.digest.update(base64.b64decode(b64[:whole]))
            b64 = b64[whole:]
        assert escaped == b"" and b64 == b""
        return httpx.Response(200, json={"Result": True, "Status": "success"}, request=request)


async def test_a_large_video_is_streamed_not_copied(fake: FakeMioGram, tmp_path: Path) -> None:
    data = os.urandom(12 * MIB)
    path = tmp_path / "video.mp4"
    path.write_bytes(data)
    expected = hashlib.sha256(data).hexdigest()
    del data
    sink = StreamingSink(fake)
    async with httpx.AsyncClient(transport=sink) as http:
        client = MioGramClient(http, url=URL, secret=fake.secret, robot="Miogram")
        await client.checks.limits()
        tracemalloc.start()
        try:
            assert await client.sends.send_video(A, Media(path)) is Outcome.SENT
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert sink.received == sink.declared > 16 * MIB  # the base64 body, with an exact Content-Length
    assert sink.digest.hexdigest() == expected
    assert sink.largest_chunk < 2 * MIB
    # Holding the file (12 MiB), its base64 (16 MiB) or the encoded body whole would each exceed this.
    assert peak < 8 * MIB, f"peak {peak / MIB:.1f} MiB"
