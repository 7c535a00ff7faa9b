"""Posts as the document reads literally: Create answers a Post, Edit needs the whole post.

The fake refuses an edit that leaves out a field the document does not mark "(Optional)", as a
literal server would; :class:`PostEdit` builds the whole post from a group's posts.
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from bot.clients.resont.client import ResontClient
from bot.clients.resont.errors import ResontMalformed, ResontValidationError
from bot.clients.resont.forms import PostEdit, PostInput
from bot.clients.resont.post_models import PostGroup
from tests.fakes.resont import WHOLE_POST, FakeResont

WHEN = datetime(2031, 6, 1, 9, 0, tzinfo=UTC)


def album(fake: FakeResont, status: str = "draft") -> dict:
    account = fake.add_account()
    files = [fake.add_file("a.jpg")["id"], fake.add_file("b.jpg")["id"]]
    return fake.add_post_group("Album", [account["id"]], status=status, type="album", media_ids=files, schedule=WHEN)


@pytest.mark.parametrize("shape", ["post", "bare_post", "group"])
async def test_create_takes_the_group_id_from_whatever_shape_answers(
    client: ResontClient, fake: FakeResont, shape: str
) -> None:
    fake.create_answer = shape
    account = fake.add_account()
    fake.add_post_group("someone else's draft", [account["id"]])  # a group id unlike the post id
    post = PostInput(caption="New", type="text", account_ids=[account["id"]], is_draft=True, schedule_date=WHEN)
    group = await client.posts.create(post)
    [created_id] = [g for g in fake.post_groups if fake.post_groups[g]["caption"] == "New"]
    assert group.id == created_id and group.is_draft and group.caption == "New"
    assert group.posts and group.posts[0].id != group.id  # a post id is never taken for the group id
    [create] = fake.requests_to(r"^POST post$")
    assert create.form["media_ids"] == [""] and create.form["is_scheduled"] == ["1"]


async def test_create_without_a_findable_group_is_a_clear_error(client: ResontClient, fake: FakeResont) -> None:
    fake.create_answer = "bare_post"
    account = fake.add_account()
    post = PostInput(caption="Now", type="text", account_ids=[account["id"]])
    fake.faults.add("status", status=200, body={"data": [], "paging": {}}, times=10, match="GET post")
    with pytest.raises(ResontMalformed, match="did not say which post group"):
        await client.posts.create(post)


@pytest.mark.parametrize("field", [*WHOLE_POST, "location"])
async def test_an_edit_without_a_required_field_is_refused(
    client: ResontClient, fake: FakeResont, http: httpx.AsyncClient, field: str
) -> None:
    stored = album(fake)
    fake.post_groups[stored["id"]]["location"] = "501"
    for post_id in stored["post_ids"]:
        fake.posts[post_id]["location"] = "501"
    form = PostEdit.of(await client.posts.group(stored["id"])).to_form()
    assert form["location"] == "501"
    del form[field]
    with pytest.raises(ResontValidationError, match="required"):
        await client.posts.edit(stored["id"], _Raw(form))  # type: ignore[arg-type]
    assert fake.post_groups[stored["id"]]["status"] == "draft"


class _Raw:
    """A hand-made form (to send one with a field missing)."""

    def __init__(self, form: dict) -> None:
        self.form = form

    def to_form(self) -> dict:
        return self.form


async def test_the_whole_post_comes_from_the_group_s_posts(client: ResontClient, fake: FakeResont) -> None:
    stored = album(fake)
    group = await client.posts.group(stored["id"])
    assert "media_ids" not in group.raw  # the group carries none: the posts do
    edit = PostEdit.of(group)
    assert edit.media_ids == tuple(stored["media_ids"]) and edit.type == "album" and edit.is_draft
    # a draft stays a draft through a new caption and a new time, until it is approved
    moved = edit.with_caption("New words").rescheduled(int(WHEN.timestamp()) + 3600)
    assert moved.is_draft and moved.is_scheduled and moved.media_ids == edit.media_ids
    await client.posts.edit(stored["id"], moved)
    after = fake.post_groups[stored["id"]]
    assert after["status"] == "draft" and after["caption"] == "New words" and after["media_ids"] == stored["media_ids"]
    await client.posts.edit(stored["id"], PostEdit.of(await client.posts.group(stored["id"])).approved(None))
    assert fake.post_groups[stored["id"]]["status"] == "published"


def test_an_edit_is_not_built_from_a_group_that_lost_its_media() -> None:
    group = PostGroup.from_raw({"id": 5, "type": "image", "caption": "x", "posts": [{"id": 6, "account_id": 1}]})
    with pytest.raises(ResontMalformed, match="media"):
        PostEdit.of(group)
    no_type = PostGroup.from_raw({"id": 5, "caption": "x", "posts": [{"id": 6, "account_id": 1}]})
    with pytest.raises(ResontMalformed, match="type"):
        PostEdit.of(no_type)
