"""Comments and DMs that keep arriving in a Resont fake during a drill, each with a unique tag in
its text (``[c007]`` a comment, ``[m008]`` a DM), so that the drill can tell afterwards whether
every one of them reached the admin chat, and how often."""

from __future__ import annotations

import random
import re
from collections import Counter
from typing import Any

from tests.botapi import text_of
from tests.fakes.resont import FakeResont
from tests.harness import ADMIN_CHAT

#: The tag every arriving item carries.
TAG = re.compile(r"\[[cm]\d{3}\]")


class Arrivals:
    """A Resont fake (an account with a post and a first conversation) into which a seeded
    ``rng`` drops new comments and DMs."""

    def __init__(self, rng: random.Random, token: str) -> None:
        self.rng = rng
        self.fake = FakeResont(token=token, page_size=5)
        self.account = self.fake.add_account("Brand Shop", "instagram")["id"]
        self.post = self.fake.add_account_post(self.account, "Spring collection")["id"]
        self.fake.add_conversation(self.account, "client0")
        #: the tags of every item that arrived, in order
        self.tags: list[str] = []

    def arrive(self, count: int) -> None:
        """``count`` new items: six in ten a comment, the others a DM."""
        for _ in range(count):
            if self.rng.random() < 0.6:
                tag = f"[c{len(self.tags):03d}]"
                self.fake.add_comment(
                    self.account, f"comment {tag}", post_id=self.post, username=f"fan{len(self.tags) % 7}"
                )
            else:
                # each DM in its own conversation: DMs of one person are grouped into one card,
                # and a digest line shows only a group's last message, so a tag could hide
                tag = f"[m{len(self.tags):03d}]"
                conversation = self.fake.add_conversation(self.account, f"client{len(self.tags)}")["id"]
                self.fake.add_message(conversation, f"dm {tag}")
            self.tags.append(tag)

    def missing(self, botapi: Any) -> list[str]:
        """The tags no message in the admin chat shows (yet)."""
        shown = " ".join(text_of(m) for m in botapi.bot_messages(ADMIN_CHAT))
        return [tag for tag in self.tags if tag not in shown]

    def counts(self, botapi: Any) -> Counter[str]:
        """How many messages of the admin chat show each tag."""
        return Counter(tag for m in botapi.bot_messages(ADMIN_CHAT) for tag in set(TAG.findall(text_of(m))))
