"""Fixtures of the posts tests: Resont with an Instagram and a Telegram account (a module that
needs other accounts or a clock defines its own ``resont``)."""

from __future__ import annotations

import pytest

from tests.fakes.resont import FakeResont
from tests.harness import RESONT_TOKEN


@pytest.fixture
def resont() -> FakeResont:
    fake = FakeResont(token=RESONT_TOKEN)
    fake.add_account("Brand IG", "instagram")
    fake.add_account("Brand TG", "telegram")
    return fake
