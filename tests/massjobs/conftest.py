"""Fixtures of the mass runner tests."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes.miogram import FakeMioGram
from tests.harness import MIOGRAM_SECRET
from tests.massjobs.rig import Rig


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
