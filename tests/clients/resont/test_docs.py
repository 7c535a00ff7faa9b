"""The coverage table in docs/resont-client.md matches the client's endpoint table and methods."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from bot.clients.resont.client import ResontClient
from bot.clients.resont.endpoints import ENDPOINTS

DOC = Path(__file__).resolve().parents[3] / "docs" / "resont-client.md"
ROW = re.compile(
    r"^\| (?P<service>[^|]+) \| `(?P<call>[^`]+)` \| (?P<http>\w+) \| `(?P<path>[^`]+)` \| (?P<source>[^|]+)"
    r" \| `(?P<key>[^`]+)` \|$"
)


CLIENT = ResontClient(httpx.AsyncClient(), "http://resont.test/token/v1", token="t")


def rows() -> dict[str, dict[str, str]]:
    found = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            found[match["key"]] = match.groupdict()
    return found


def test_every_endpoint_is_documented_with_its_method_and_path() -> None:
    table = rows()
    assert set(table) == set(ENDPOINTS)
    for key, endpoint in ENDPOINTS.items():
        row = table[key]
        assert row["http"] == endpoint.method, key
        assert row["path"].endswith(endpoint.path), key
        assert row["source"].strip() == endpoint.source, key


def test_documented_methods_exist() -> None:
    for key, row in rows().items():
        names = re.findall(r"(?:^|\), )([a-z_.]+)\(", row["call"])
        assert names, key
        for name in names:
            target: object = CLIENT
            for part in name.split("."):
                target = getattr(target, part, None)
            assert callable(target), (key, name)
