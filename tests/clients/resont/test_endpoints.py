"""Every Resont service through the client against the stateful fake: the request's method,
path, query and body are checked, the answer is decoded into typed results, and state changes
show in later reads."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.clients.resont.client import ResontClient
from bot.clients.resont.endpoints import ENDPOINTS
from bot.clients.resont.errors import ResontNotFound, ResontValidationError
from bot.clients.resont.forms import PostEdit, PostInput, Upload
from bot.clients.resont.inbox_models import Comment, Conversation, Message
from bot.clients.resont.models import (
    Account,
    AccountPost,
    File,
    GeneratedImage,
    RedirectResponse,
    StorageInfo,
    Tag,
    User,
)
from bot.clients.resont.post_models import Post, PostGroup
from bot.clients.resont.ticket_models import Ticket
from tests.clients.resont.support import expect
from tests.fakes.resont import FakeResont

Case = Callable[[ResontClient, FakeResont], Awaitable[None]]


async def collect(iterator):
    return [item async for item in iterator]


# ---------------------------------------------------------------- accounts


async def case_account_list(c: ResontClient, fake: FakeResont) -> None:
    fake.add_account("Shop", "instagram")
    tg = fake.add_account("Channel", "telegram", meta={"botusername": "shopbot", "botapikey": "k"})
    accounts = await c.accounts.all(with_="meta")
    request = expect(fake, "account.list")
    assert request.query["with"] == ["meta"]
    assert [a.name for a in accounts] == ["Shop", "Channel"]
    assert all(isinstance(a, Account) for a in accounts)
    assert accounts[1].meta == {"botusername": "shopbot", "botapikey": "k"}
    assert accounts[1].date == tg["date"]  # rendered in Tehran time as "Y-m-d H:i", parsed back


async def case_account_create(c: ResontClient, fake: FakeResont) -> None:
    account = await c.accounts.create("telegram", username="shopchannel", botusername="shopbot")
    request = expect(fake, "account.create")
    assert request.form == {"type": ["telegram"], "username": ["shopchannel"], "botusername": ["shopbot"]}
    assert isinstance(account, Account) and account.type == "telegram" and account.id in fake.accounts
    redirect = await c.accounts.create("linkedin", redirect="https://bot.example/done")
    assert isinstance(redirect, RedirectResponse) and "linkedin" in (redirect.redirect or "")


async def case_account_detail(c: ResontClient, fake: FakeResont) -> None:
    stored = fake.add_account(
        "Channel", "telegram", meta={"botusername": "shopbot"}, login_required=True, relogin_reason="session expired"
    )
    account = await c.accounts.get(stored["id"], with_=["meta"])
    request = expect(fake, "account.detail", account_id=stored["id"])
    assert request.query["with"] == ["meta"]
    assert account.login_required and account.relogin_reason == "session expired"
    assert account.meta == {"botusername": "shopbot"}


async def case_account_edit(c: ResontClient, fake: FakeResont) -> None:
    stored = fake.add_account("Old", "telegram", login_required=True)
    account = await c.accounts.edit(stored["id"], type="telegram", username="renamed")
    request = expect(fake, "account.edit", account_id=stored["id"])
    assert request.form == {"type": ["telegram"], "username": ["renamed"]}
    assert isinstance(account, Account) and account.name == "renamed" and not account.login_required


async def case_account_delete(c: ResontClient, fake: FakeResont) -> None:
    stored = fake.add_account()
    assert await c.accounts.delete(stored["id"]) is True
    expect(fake, "account.delete", account_id=stored["id"])
    with pytest.raises(ResontNotFound):
        await c.accounts.get(stored["id"])


# ---------------------------------------------------------------- account groups


async def case_account_group_list(c: ResontClient, fake: FakeResont) -> None:
    a = fake.add_account()
    fake.add_account_group("Main", [a["id"]])
    groups = await c.accounts.groups()
    expect(fake, "account_group.list")
    assert [(g.name, g.account_ids) for g in groups] == [("Main", [a["id"]])]


async def case_account_group_create(c: ResontClient, fake: FakeResont) -> None:
    a, b = fake.add_account(), fake.add_account("Other")
    group = await c.accounts.create_group("Both", [a["id"], b["id"]])
    request = expect(fake, "account_group.create")
    assert request.form == {"name": ["Both"], "account_ids[]": [str(a["id"]), str(b["id"])]}
    assert group.account_ids == [a["id"], b["id"]] and group.id in fake.account_groups


async def case_account_group_detail(c: ResontClient, fake: FakeResont) -> None:
    stored = fake.add_account_group("Main", [fake.add_account()["id"]])
    group = await c.accounts.group(stored["id"])
    expect(fake, "account_group.detail", group_id=stored["id"])
    assert group.name == "Main" and group.date == stored["date"]


async def case_account_group_edit(c: ResontClient, fake: FakeResont) -> None:
    a, b = fake.add_account(), fake.add_account("Other")
    stored = fake.add_account_group("Main", [a["id"]])
    group = await c.accounts.edit_group(stored["id"], name="Renamed", account_ids=[b["id"]])
    request = expect(fake, "account_group.edit", group_id=stored["id"])
    assert request.form == {"name": ["Renamed"], "account_ids[]": [str(b["id"])]}
    assert (group.name, group.account_ids) == ("Renamed", [b["id"]])


async def case_account_group_delete(c: ResontClient, fake: FakeResont) -> None:
    stored = fake.add_account_group("Main", [])
    assert await c.accounts.delete_group(stored["id"])
    expect(fake, "account_group.delete", group_id=stored["id"])
    assert stored["id"] not in fake.account_groups


# ---------------------------------------------------------------- comments


async def case_comment_list(c: ResontClient, fake: FakeResont) -> None:
    account = fake.add_account("Shop")
    vip = fake.add_comment_tag("vip")
    old = datetime(2024, 1, 10, 9, 0, tzinfo=UTC)
    fake.add_comment(account["id"], "price please", created=old)
    match = fake.add_comment(
        account["id"],
        "what is the price?",
        tags=[vip["id"]],
        username="carol",
        created=datetime(2024, 3, 5, 10, 30, tzinfo=UTC),
    )
    fake.add_comment(account["id"], "lovely", tags=[vip["id"]])
    comments = await collect(
        c.comments.walk(
            tag=[vip["id"]],
            status=0,
            date_from=date(2024, 2, 1),
            search="price",
            with_=["account(meta)", "socialUser", "accountPost"],
        )
    )
    request = expect(fake, "comment.list")
    assert request.query["tag[]"] == [str(vip["id"])]
    assert request.query["date_from"] == ["2024-02-01"]  # the user's date layout
    assert request.query["with"] == ["account(meta),socialUser,accountPost"]
    assert (request.query["status"], request.query["search"]) == (["0"], ["price"])
    [comment] = comments
    assert isinstance(comment, Comment) and comment.id == match["id"]
    assert comment.date == datetime(2024, 3, 5, 10, 30, tzinfo=UTC)
    assert comment.date.utcoffset() == timedelta(hours=3, minutes=30)  # read as Tehran wall time
    assert comment.social_user is not None and comment.social_user.username == "carol"
    assert comment.account is not None and comment.account.name == "Shop"
    assert comment.account_post is not None and comment.account_post.permalink
    assert [t.name for t in comment.tags] == ["vip"]


async def case_comment_detail(c: ResontClient, fake: FakeResont) -> None:
    stored = fake.add_comment(fake.add_account()["id"], "hello", username="dave")
    comment = await c.comments.get(stored["id"], with_="socialUser")
    request = expect(fake, "comment.detail", comment_id=stored["id"])
    assert request.query["with"] == ["socialUser"]
    assert comment.text == "hello" and comment.social_user and comment.social_user.username == "dave"
    assert comment.can_reply and not comment.liked and not comment.is_reply


async def case_comment_replies(c: ResontClient, fake: FakeResont) -> None:
    fake.page_size = 2
    account = fake.add_account()
    parent = fake.add_comment(account["id"], "question")
    replies = [fake.add_comment(account["id"], f"r{i}", parent_id=parent["id"]) for i in range(3)]
    found = await collect(c.comments.replies(parent["id"]))
    request = expect(fake, "comment.replies", comment_id=parent["id"])
    assert request.query["page"] == ["2"]  # followed paging.next
    assert [r.id for r in found] == [r["id"] for r in reversed(replies)]
    assert all(r.is_reply and r.parent_id == str(parent["id"]) for r in found)


async def case_comment_reply(c: ResontClient, fake: FakeResont) -> None:
    original = fake.add_comment(fake.add_account()["id"], "how much?", username="erin")
    reply = await c.comments.reply(original["id"], "20 USD", username="erin")
    request = expect(fake, "comment.reply", comment_id=original["id"])
    assert request.form == {"comment": ["20 USD"], "username": ["erin"]}
    assert reply.text == "20 USD" and reply.parent_id == str(original["id"]) and reply.outbound is True
    # The account's own reply is not news for an inbox poll.
    assert [x.id async for x in c.comments.walk()] == [original["id"]]
    assert [r.text for r in await collect(c.comments.replies(original["id"]))] == ["20 USD"]


async def case_comment_like(c: ResontClient, fake: FakeResont) -> None:
    stored = fake.add_comment(fake.add_account()["id"])
    assert await c.comments.like(stored["id"])
    expect(fake, "comment.like", comment_id=stored["id"])
    assert (await c.comments.get(stored["id"])).liked
    await c.comments.like(stored["id"])  # a toggle
    assert not (await c.comments.get(stored["id"])).liked


async def case_comment_tag(c: ResontClient, fake: FakeResont) -> None:
    stored = fake.add_comment(fake.add_account()["id"])
    a, b = fake.add_comment_tag("lead"), fake.add_comment_tag("spam")
    comment = await c.comments.tag(stored["id"], [a["id"], b["id"]])
    request = expect(fake, "comment.tag", comment_id=stored["id"])
    assert request.form == {"tag[]": [str(a["id"]), str(b["id"])]}
    assert [t.name for t in comment.tags] == ["lead", "spam"]
    cleared = await c.comments.tag(stored["id"], [])
    assert fake.requests[-1].form == {"tag": [""]} and cleared.tags == []


async def case_comment_delete(c: ResontClient, fake: FakeResont) -> None:
    stored = fake.add_comment(fake.add_account()["id"])
    assert await c.comments.delete(stored["id"])
    expect(fake, "comment.delete", comment_id=stored["id"])
    with pytest.raises(ResontNotFound) as caught:
        await c.comments.get(stored["id"])
    assert caught.value.trace_id and caught.value.status == 404


async def case_comment_subscribe(c: ResontClient, fake: FakeResont) -> None:
    a = fake.add_account(comment_subscribe=False)
    assert await c.comments.subscribe([a["id"]])
    assert expect(fake, "comment.subscribe").form == {"account_ids[]": [str(a["id"])]}
    assert fake.accounts[a["id"]]["comment_subscribe"] == 1


async def case_comment_social_user(c: ResontClient, fake: FakeResont) -> None:
    user = fake.add_social_user("frank", name="Frank F")
    found = await c.comments.social_user(user["id"])
    expect(fake, "comment.social_user", social_user_id=user["id"])
    assert (found.id, found.username, found.name) == (user["id"], "frank", "Frank F")


async def case_comment_post(c: ResontClient, fake: FakeResont) -> None:
    account = fake.add_account()
    post = fake.add_account_post(account["id"], "Spring sale")
    stored = fake.add_comment(account["id"], post_id=post["id"])
    found = await c.comments.post(stored["id"])
    expect(fake, "comment.post", comment_id=stored["id"])
    assert isinstance(found, AccountPost) and found.content == "Spring sale" and found.comment_count == 1


# ---------------------------------------------------------------- comment tags


async def case_comment_tag_list(c: ResontClient, fake: FakeResont) -> None:
    fake.add_comment_tag("lead", "#00ff00")
    tags = await c.comment_tags.all()
    expect(fake, "comment_tag.list")
    assert [(t.name, t.color) for t in tags] == [("lead", "#00ff00")]


async def case_comment_tag_create(c: ResontClient, fake: FakeResont) -> None:
    tag = await c.comment_tags.create("urgent", "#ff0000")
    assert expect(fake, "comment_tag.create").form == {"name": ["urgent"], "color": ["#ff0000"]}
    assert isinstance(tag, Tag) and tag.id in fake.comment_tags


async def case_comment_tag_detail(c: ResontClient, fake: FakeResont) -> None:
    stored = fake.add_comment_tag("lead")
    assert (await c.comment_tags.get(stored["id"])).name == "lead"
    expect(fake, "comment_tag.detail", tag_id=stored["id"])


async def case_comment_tag_edit(c: ResontClient, fake: FakeResont) -> None:
    stored = fake.add_comment_tag("lead")
    tag = await c.comment_tags.edit(stored["id"], name="hot lead", color="#123456")
    assert expect(fake, "comment_tag.edit", tag_id=stored["id"]).form == {"name": ["hot lead"], "color": ["#123456"]}
    assert (tag.name, tag.color) == ("hot lead", "#123456")


async def case_comment_tag_delete(c: ResontClient, fake: FakeResont) -> None:
    stored = fake.add_comment_tag("lead")
    assert await c.comment_tags.delete(stored["id"])
    expect(fake, "comment_tag.delete", tag_id=stored["id"])
    with pytest.raises(ResontNotFound):
        await c.comment_tags.get(stored["id"])


# ---------------------------------------------------------------- conversations


async def case_conversation_list(c: ResontClient, fake: FakeResont) -> None:
    account = fake.add_account()
    tag = fake.add_conversation_tag("sales")
    quiet = fake.add_conversation(account["id"], "gina")
    fake.add_message(quiet["id"], "hi")
    tagged = fake.add_conversation(account["id"], "hank", tags=[tag["id"]])
    fake.add_message(tagged["id"], "need a price")
    found = await collect(c.conversations.walk(tag=[tag["id"]], status=0, search="price", with_="account"))
    request = expect(fake, "conversation.list")
    assert request.query["tag[]"] == [str(tag["id"])] and request.query["with"] == ["account"]
    [conversation] = found
    assert isinstance(conversation, Conversation) and conversation.id == tagged["id"]
    assert conversation.last_message == "need a price" and conversation.update_date == tagged["update_date"]
    assert conversation.participants[0].social_user and conversation.participants[0].social_user.username == "hank"
    assert conversation.account and conversation.account.id == account["id"]


async def case_conversation_detail(c: ResontClient, fake: FakeResont) -> None:
    stored = fake.add_conversation(fake.add_account()["id"], "ivy")
    conversation = await c.conversations.get(stored["id"])
    expect(fake, "conversation.detail", conversation_id=stored["id"])
    assert conversation.conversation_id == stored["conversation_id"]
    assert conversation.participant_ids == set(stored["participants"])


async def case_conversation_messages(c: ResontClient, fake: FakeResont) -> None:
    stored = fake.add_conversation(fake.add_account()["id"], "jack")
    inbound = fake.add_message(stored["id"], "is it in stock?")
    outbound = fake.add_message(stored["id"], "yes", inbound=False)
    conversation = await c.conversations.get(stored["id"])
    fake.messages_order = "newest"  # whatever order Resont sends, the client answers oldest first
    messages = await c.conversations.messages(stored["id"], date_from=date(2000, 1, 1))
    request = expect(fake, "conversation.messages", conversation_id=stored["id"])
    assert request.query["date_from"] == ["2000-01-01"]
    assert [m.id for m in messages] == [inbound["id"], outbound["id"]]
    assert [m.outbound for m in messages] == [False, True]
    assert messages[0].sent_by_participant(conversation) and not messages[1].sent_by_participant(conversation)
    assert messages[0].date == inbound["date"]


async def case_conversation_message(c: ResontClient, fake: FakeResont) -> None:
    conversation = fake.add_conversation(fake.add_account()["id"])
    stored = fake.add_message(conversation["id"], "photo", type="media", attachment="https://cdn.example/a.jpg")
    message = await c.conversations.message(stored["id"])
    expect(fake, "conversation.message", message_id=stored["id"])
    assert isinstance(message, Message) and message.attachment == "https://cdn.example/a.jpg"
    assert message.conversation_id == conversation["id"] and message.type == "media"


async def case_conversation_reply(c: ResontClient, fake: FakeResont) -> None:
    account = fake.add_account()
    target = fake.add_conversation(account["id"], "kim")
    fake.add_message(target["id"], "catalogue please?")
    other = fake.add_conversation(account["id"], "lee")
    fake.add_message(other["id"], "later message")
    message = await c.conversations.reply(
        target["id"], "here it is", attachment=Upload(b"%PDF-1.4 catalogue", "catalogue.pdf", "application/pdf")
    )
    request = expect(fake, "conversation.reply", conversation_id=target["id"])
    assert request.headers["content-type"].startswith("multipart/form-data")
    assert request.form == {"content": ["here it is"]}
    [upload] = request.files["attachment"]
    assert (upload.filename, upload.content_type, upload.content) == (
        "catalogue.pdf",
        "application/pdf",
        b"%PDF-1.4 catalogue",
    )
    assert message.outbound is True and message.type == "media" and message.attachment
    # The DM reply moved the conversation to the top of the list.
    newest = await collect(c.conversations.walk(limit=1))
    assert newest[0].id == target["id"] and newest[0].last_message == "here it is"


async def case_conversation_reaction(c: ResontClient, fake: FakeResont) -> None:
    conversation = fake.add_conversation(fake.add_account()["id"])
    stored = fake.add_message(conversation["id"])
    assert await c.conversations.react(stored["id"])
    assert expect(fake, "conversation.reaction", message_id=stored["id"]).form == {"type": ["like"]}
    reactions = (await c.conversations.message(stored["id"])).reactions
    assert len(reactions) == 1 and reactions[0].is_owner


async def case_conversation_tag(c: ResontClient, fake: FakeResont) -> None:
    stored = fake.add_conversation(fake.add_account()["id"])
    tag = fake.add_conversation_tag("vip")
    conversation = await c.conversations.tag(stored["id"], [tag["id"]])
    assert expect(fake, "conversation.tag", conversation_id=stored["id"]).form == {"tag[]": [str(tag["id"])]}
    assert [t.name for t in conversation.tags] == ["vip"]


async def case_conversation_subscribe(c: ResontClient, fake: FakeResont) -> None:
    a, b = fake.add_account(direct_subscribe=False), fake.add_account("B", direct_subscribe=False)
    assert await c.conversations.subscribe([a["id"], b["id"]])
    assert expect(fake, "conversation.subscribe").form == {"account_ids[]": [str(a["id"]), str(b["id"])]}
    assert fake.accounts[b["id"]]["direct_subscribe"] == 1


# ---------------------------------------------------------------- conversation tags


async def case_conversation_tag_list(c: ResontClient, fake: FakeResont) -> None:
    fake.add_conversation_tag("sales")
    assert [t.name for t in await c.conversation_tags.all()] == ["sales"]
    expect(fake, "conversation_tag.list")


async def case_conversation_tag_create(c: ResontClient, fake: FakeResont) -> None:
    tag = await c.conversation_tags.create("support", "#0000ff")
    assert expect(fake, "conversation_tag.create").form == {"name": ["support"], "color": ["#0000ff"]}
    assert tag.id in fake.conversation_tags


async def case_conversation_tag_detail(c: ResontClient, fake: FakeResont) -> None:
    stored = fake.add_conversation_tag("sales")
    assert (await c.conversation_tags.get(stored["id"])).color == stored["color"]
    expect(fake, "conversation_tag.detail", tag_id=stored["id"])


async def case_conversation_tag_edit(c: ResontClient, fake: FakeResont) -> None:
    stored = fake.add_conversation_tag("sales")
    tag = await c.conversation_tags.edit(stored["id"], name="b2b")
    assert expect(fake, "conversation_tag.edit", tag_id=stored["id"]).form == {"name": ["b2b"]}
    assert tag.name == "b2b"


async def case_conversation_tag_delete(c: ResontClient, fake: FakeResont) -> None:
    stored = fake.add_conversation_tag("sales")
    assert await c.conversation_tags.delete(stored["id"])
    expect(fake, "conversation_tag.delete", tag_id=stored["id"])
    assert stored["id"] not in fake.conversation_tags


# ---------------------------------------------------------------- files


async def case_file_list(c: ResontClient, fake: FakeResont) -> None:
    fake.page_size = 2
    images = [fake.add_file(f"p{i}.jpg") for i in range(3)]
    fake.add_file("doc.pdf", content_type="application/pdf")
    files = await collect(c.files.walk(type="image"))
    request = expect(fake, "file.list")
    assert request.query["type"] == ["image"] and request.query["page"] == ["2"]
    assert [f.id for f in files] == [f["id"] for f in reversed(images)]
    assert all(isinstance(f, File) and f.file_type == "image" for f in files)


async def case_file_upload(c: ResontClient, fake: FakeResont) -> None:
    content = bytes(range(256)) * 40
    uploaded = await c.files.upload(content, "banner.png", "image/png")
    request = expect(fake, "file.upload")
    assert request.headers["content-type"].startswith("multipart/form-data")
    [part] = request.files["file"]
    assert (part.filename, part.content_type, part.content) == ("banner.png", "image/png", content)
    assert fake.uploads[-1].content == content
    assert (uploaded.title, uploaded.filesize, uploaded.file_type, uploaded.ext) == (
        "banner.png",
        len(content),
        "image",
        "png",
    )


async def case_file_detail(c: ResontClient, fake: FakeResont) -> None:
    stored = fake.add_file("clip.mp4", content_type="video/mp4")
    found = await c.files.get(stored["id"])
    expect(fake, "file.detail", file_id=stored["id"])
    assert (found.file_type, found.thumbnail_url, found.date) == ("video", stored["thumbnailUrl"], stored["date"])


async def case_file_delete(c: ResontClient, fake: FakeResont) -> None:
    stored = fake.add_file()
    assert await c.files.delete(stored["id"])
    expect(fake, "file.delete", file_id=stored["id"])
    with pytest.raises(ResontNotFound):
        await c.files.get(stored["id"])


async def case_file_sticker_image(c: ResontClient, fake: FakeResont) -> None:
    stored = fake.add_file()
    stickers = [{"type": "mention", "username": "brand", "x": 0.5, "y": 0.25}]
    image = await c.files.sticker_image(stored["id"], stickers)
    request = expect(fake, "file.sticker_image", file_id=stored["id"])
    assert request.form == {
        "sticker[0][type]": ["mention"],
        "sticker[0][username]": ["brand"],
        "sticker[0][x]": ["0.5"],
        "sticker[0][y]": ["0.25"],
    }
    assert isinstance(image, GeneratedImage) and image.mime == "image/png"
    assert image.content().startswith(b"\x89PNG sticker ")


# ---------------------------------------------------------------- insights and user


async def case_insights_account(c: ResontClient, fake: FakeResont) -> None:
    account = fake.add_account()
    fake.set_insights("account", account["id"], {"followers": 1200, "reach": [10, 20]})
    insights = await c.insights.account(
        account["id"], ["followers", "reach"], "custom", date_from=date(2024, 1, 1), date_to="2024-01-31"
    )
    request = expect(fake, "insights.account", account_id=account["id"])
    assert request.query["metric[]"] == ["followers", "reach"] and request.query["period"] == ["custom"]
    assert (request.query["date_from"], request.query["date_to"]) == (["2024-01-01"], ["2024-01-31"])
    assert insights.by_metric() == {"followers": 1200, "reach": [10, 20]}
    assert insights.metric == ["followers", "reach"]


async def case_insights_post(c: ResontClient, fake: FakeResont) -> None:
    group = fake.add_post_group(account_ids=[fake.add_account()["id"]], status="published")
    fake.set_insights("post", group["id"], {"likes": 42})
    insights = await c.insights.post(group["id"], ["likes"], "lifetime")
    request = expect(fake, "insights.post", post_group_id=group["id"])
    assert request.query["metric[]"] == ["likes"] and request.query["period"] == ["lifetime"]
    assert insights.by_metric() == {"likes": 42}


async def case_user_me(c: ResontClient, fake: FakeResont) -> None:
    user = await c.users.me()
    expect(fake, "user.me")
    assert isinstance(user, User) and (user.dateformat, user.timeformat, user.timezone) == (
        "Y-m-d",
        "H:i",
        "Asia/Tehran",
    )
    assert user.expire_date == datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    assert c.users.last == user


async def case_user_storage(c: ResontClient, fake: FakeResont) -> None:
    fake.add_file(content=b"x" * 100)
    info = await c.users.storage()
    expect(fake, "user.storage")
    assert isinstance(info, StorageInfo) and (info.total_files, info.used_storage) == (1, 100)
    assert info.remaining_storage == info.total_storage - 100


# ---------------------------------------------------------------- posts


async def case_post_list(c: ResontClient, fake: FakeResont) -> None:
    a, b = fake.add_account(), fake.add_account("Other")
    soon = datetime(2031, 5, 1, 8, 0, tzinfo=UTC)
    later = fake.add_post_group("later", [a["id"]], status="scheduled", schedule=soon + timedelta(days=1))
    first = fake.add_post_group("first", [a["id"]], status="scheduled", schedule=soon)
    fake.add_post_group("other account", [b["id"]], status="scheduled", schedule=soon)
    fake.add_post_group("a draft", [a["id"]], status="draft")
    groups = await collect(c.posts.walk(account_ids=[a["id"]], order="schedule_date", publish_from=date(2031, 1, 1)))
    request = expect(fake, "post.list")
    assert request.query["account_ids[]"] == [str(a["id"])] and request.query["order"] == ["schedule_date"]
    assert request.query["publish_from"] == ["2031-01-01"]
    assert [g.id for g in groups] == [later["id"], first["id"]]
    assert groups[1].schedule_date == soon and groups[1].is_scheduled and groups[1].status == "scheduled"


async def case_post_create(c: ResontClient, fake: FakeResont) -> None:
    ig, tg = fake.add_account("IG", "instagram"), fake.add_account("TG", "telegram")
    video = fake.add_file("clip.mp4", content_type="video/mp4")
    when = datetime(2031, 5, 1, 8, 30, tzinfo=UTC)
    post = PostInput(
        caption="Launch day",
        type="video",
        account_ids=[ig["id"], tg["id"]],
        media_ids=[video["id"]],
        custom_captions={"instagram": "Launch! #new", "telegram": "Launch day 🚀"},
        schedule_date=when,
        is_draft=False,
        location="501",
        hashtags=["launch", "new"],
        photo_tags={video["id"]: [{"locationX": 0.1, "locationY": 0.2, "text": "brand", "id": 9101}]},
        thumbnail_second={video["id"]: 3},
        reels=True,
        reels_sharetofeed=False,
        linkedin_title="Launch video",
        pinterest_url="https://brand.example/launch",
        telegram_buttons=[("Buy", "https://brand.example/buy"), "Info:https://i"],
        tweets=["first tweet", "second tweet"],
        youtube_category="22",
        youtube_title="Launch",
        youtube_privacy="unlisted",
    )
    group = await c.posts.create(post)
    [create] = fake.requests_to(r"^POST post$")
    form = create.form
    vid = video["id"]
    assert form == {
        "caption": ["Launch day"],
        "type": ["video"],
        "account_ids[]": [str(ig["id"]), str(tg["id"])],
        "media_ids[]": [str(vid)],
        "custom_captions[instagram]": ["Launch! #new"],
        "custom_captions[telegram]": ["Launch day 🚀"],
        "is_scheduled": ["1"],
        "schedule_date": [str(int(when.timestamp()))],
        "is_draft": ["0"],
        "location": ["501"],
        "hashtag[]": ["launch", "new"],
        f"photo_tags[{vid}][0][locationX]": ["0.1"],
        f"photo_tags[{vid}][0][locationY]": ["0.2"],
        f"photo_tags[{vid}][0][text]": ["brand"],
        f"photo_tags[{vid}][0][id]": ["9101"],
        f"thumbnail_second[{vid}]": ["3"],
        "reels": ["1"],
        "reels_sharetofeed": ["0"],
        "linkedin_title": ["Launch video"],
        "pinterest_url": ["https://brand.example/launch"],
        "telegram_buttons[]": ["Buy:https://brand.example/buy", "Info:https://i"],
        "tweets[]": ["first tweet", "second tweet"],
        "youtube_category": ["22"],
        "youtube_title": ["Launch"],
        "youtube_privacy": ["unlisted"],
    }
    assert isinstance(group, PostGroup) and group.status == "scheduled" and group.schedule_date == when
    assert sorted(group.account_ids) == sorted([ig["id"], tg["id"]]) and len(group.posts) == 2
    assert fake.post_groups[group.id]["schedule_date"] == when


async def case_post_group(c: ResontClient, fake: FakeResont) -> None:
    stored = fake.add_post_group("broken", [fake.add_account()["id"]], status="failed", log="Login required")
    group = await c.posts.group(stored["id"])
    expect(fake, "post.group", post_group_id=stored["id"])
    assert group.failed and group.errors == ["Login required"] and group.create_date == stored["create_date"]


async def case_post_detail(c: ResontClient, fake: FakeResont) -> None:
    stored = fake.add_post_group("hello", [fake.add_account()["id"]], status="published")
    post_id = stored["post_ids"][0]
    post = await c.posts.get(post_id)
    expect(fake, "post.detail", post_id=post_id)
    assert (post.caption, post.status, post.post_group_id) == ("hello", "published", stored["id"])
    assert post.publish_date is not None


async def case_post_edit(c: ResontClient, fake: FakeResont) -> None:
    account = fake.add_account()
    photo = fake.add_file("a.jpg")
    stored = fake.add_post_group("draft text", [account["id"]], status="draft", type="image", media_ids=[photo["id"]])
    when = datetime(2031, 6, 1, 9, 0, tzinfo=UTC)
    edit = PostEdit.of(await c.posts.group(stored["id"])).with_caption("approved text").approved(int(when.timestamp()))
    post = await c.posts.edit(stored["id"], edit)
    form = expect(fake, "post.edit", post_group_id=stored["id"]).form
    assert form == {  # the whole post: every field the document does not mark optional
        "caption": ["approved text"],
        "type": ["image"],
        "account_ids[]": [str(account["id"])],
        "media_ids[]": [str(photo["id"])],
        "is_scheduled": ["1"],
        "schedule_date": [str(int(when.timestamp()))],
        "is_draft": ["0"],
    }
    assert isinstance(post, Post) and post.post_group_id == stored["id"]  # the document answers a Post
    group = await c.posts.group(stored["id"])
    assert (group.status, group.caption, group.schedule_date, group.media_ids) == (
        "scheduled",
        "approved text",
        when,
        [photo["id"]],
    )
    assert [g.id async for g in c.posts.drafts()] == []


async def case_post_edit_published(c: ResontClient, fake: FakeResont) -> None:
    stored = fake.add_post_group("typo", [fake.add_account("TG", "telegram")["id"]], status="published")
    edit = PostEdit.of(await c.posts.group(stored["id"])).with_caption("fixed")
    post = await c.posts.edit_published(stored["id"], edit)
    form = expect(fake, "post.edit_published", post_group_id=stored["id"]).form
    assert form["caption"] == ["fixed"] and form["media_ids"] == [""] and form["is_draft"] == ["0"]
    assert post.caption == "fixed" and (await c.posts.group(stored["id"])).posts[0].caption == "fixed"


async def case_post_retry(c: ResontClient, fake: FakeResont) -> None:
    stored = fake.add_post_group("x", [fake.add_account()["id"]], status="failed", log="boom")
    assert await c.posts.retry(stored["id"])
    expect(fake, "post.retry", post_group_id=stored["id"])
    assert not (await c.posts.group(stored["id"])).failed
    with pytest.raises(ResontValidationError):
        await c.posts.retry(stored["id"])  # not failed any more


async def case_post_cancel(c: ResontClient, fake: FakeResont) -> None:
    stored = fake.add_post_group(
        "x", [fake.add_account()["id"]], status="scheduled", schedule=datetime(2031, 1, 1, tzinfo=UTC)
    )
    assert await c.posts.cancel(stored["id"])
    expect(fake, "post.cancel", post_group_id=stored["id"])
    assert (await c.posts.group(stored["id"])).status == "canceled"


async def case_post_delete(c: ResontClient, fake: FakeResont) -> None:
    stored = fake.add_post_group("x", [fake.add_account()["id"]])
    assert await c.posts.delete(stored["id"])
    expect(fake, "post.delete", post_group_id=stored["id"])
    with pytest.raises(ResontNotFound):
        await c.posts.group(stored["id"])


async def case_post_drafts(c: ResontClient, fake: FakeResont) -> None:
    fake.page_size = 1
    account = fake.add_account()
    drafts = [fake.add_post_group(f"d{i}", [account["id"]], status="draft") for i in range(2)]
    fake.add_post_group("live", [account["id"]], status="published")
    found = await collect(c.posts.drafts())
    assert expect(fake, "post.drafts").query["page"] == ["2"]
    assert [g.id for g in found] == [d["id"] for d in reversed(drafts)] and all(g.is_draft for g in found)


# ---------------------------------------------------------------- search


async def case_search_location(c: ResontClient, fake: FakeResont) -> None:
    [place] = await c.search.locations("Azadi", [1, 2])
    request = expect(fake, "search.location")
    assert (request.query["query"], request.query["account_ids"]) == (["Azadi"], ["1,2"])
    assert place.name == "Azadi Square" and place.lat == pytest.approx(35.6997)


async def case_search_people(c: ResontClient, fake: FakeResont) -> None:
    people = await c.search.people("mina", 1)
    assert expect(fake, "search.people").query["account_ids"] == ["1"]
    assert [p.username for p in people] == ["mina_1", "mina_2"] and people[0].pk == 9101


async def case_search_hashtag(c: ResontClient, fake: FakeResont) -> None:
    tags = await c.search.hashtags("#sale", [1])
    assert expect(fake, "search.hashtag").query["query"] == ["#sale"]
    assert tags == ["sale", "sales", "sale_daily"]


# ---------------------------------------------------------------- tickets


async def case_ticket_list(c: ResontClient, fake: FakeResont) -> None:
    fake.page_size = 1
    tickets = [fake.add_ticket(f"t{i}", "help") for i in range(2)]
    found = await collect(c.tickets.walk())
    assert expect(fake, "ticket.list").query["page"] == ["2"]
    assert [t.id for t in found] == [t["id"] for t in reversed(tickets)] and found[0].status_name == "Open"


async def case_ticket_departments(c: ResontClient, fake: FakeResont) -> None:
    departments = await c.tickets.departments()
    expect(fake, "ticket.departments")
    assert [d.name for d in departments] == ["Technical", "Financial"]


async def case_ticket_create(c: ResontClient, fake: FakeResont) -> None:
    ticket = await c.tickets.create(
        "API error", 1, "Trace id trace-0001 please", attachment=Upload(b"log", "log.txt", "text/plain")
    )
    request = expect(fake, "ticket.create")
    assert request.form == {"title": ["API error"], "department_id": ["1"], "content": ["Trace id trace-0001 please"]}
    assert request.files["attachment"][0].content == b"log"
    assert isinstance(ticket, Ticket) and ticket.title == "API error" and ticket.id in fake.tickets


async def case_ticket_detail(c: ResontClient, fake: FakeResont) -> None:
    stored = fake.add_ticket("Billing", "invoice?", department_id=2)
    ticket = await c.tickets.get(stored["id"])
    expect(fake, "ticket.detail", ticket_id=stored["id"])
    assert (ticket.department_id, ticket.date) == (2, stored["date"])


async def case_ticket_messages(c: ResontClient, fake: FakeResont) -> None:
    stored = fake.add_ticket("Billing", "invoice?")
    fake.answer_ticket(stored["id"], "sent by email")
    metas = await c.tickets.messages(stored["id"])
    expect(fake, "ticket.messages", ticket_id=stored["id"])
    assert [m.content for m in metas] == ["invoice?", "sent by email"]
    assert metas[1].user is not None and metas[1].user.is_admin and not metas[0].user.is_admin


async def case_ticket_reply(c: ResontClient, fake: FakeResont) -> None:
    stored = fake.add_ticket("Billing", "invoice?")
    ticket = await c.tickets.reply(stored["id"], "still waiting")
    assert expect(fake, "ticket.reply", ticket_id=stored["id"]).form == {"content": ["still waiting"]}
    assert ticket.id == stored["id"]
    assert [m.content for m in await c.tickets.messages(stored["id"])][-1] == "still waiting"


async def case_ticket_close(c: ResontClient, fake: FakeResont) -> None:
    stored = fake.add_ticket("Billing", "invoice?")
    assert await c.tickets.close(stored["id"])
    expect(fake, "ticket.close", ticket_id=stored["id"])
    assert (await c.tickets.get(stored["id"])).status_name == "Closed"
    with pytest.raises(ResontValidationError):
        await c.tickets.reply(stored["id"], "one more thing")


CASES: dict[str, Case] = {
    "account.list": case_account_list,
    "account.create": case_account_create,
    "account.detail": case_account_detail,
    "account.edit": case_account_edit,
    "account.delete": case_account_delete,
    "account_group.list": case_account_group_list,
    "account_group.create": case_account_group_create,
    "account_group.detail": case_account_group_detail,
    "account_group.edit": case_account_group_edit,
    "account_group.delete": case_account_group_delete,
    "comment.list": case_comment_list,
    "comment.detail": case_comment_detail,
    "comment.replies": case_comment_replies,
    "comment.reply": case_comment_reply,
    "comment.like": case_comment_like,
    "comment.tag": case_comment_tag,
    "comment.delete": case_comment_delete,
    "comment.subscribe": case_comment_subscribe,
    "comment.social_user": case_comment_social_user,
    "comment.post": case_comment_post,
    "comment_tag.list": case_comment_tag_list,
    "comment_tag.create": case_comment_tag_create,
    "comment_tag.detail": case_comment_tag_detail,
    "comment_tag.edit": case_comment_tag_edit,
    "comment_tag.delete": case_comment_tag_delete,
    "conversation.list": case_conversation_list,
    "conversation.detail": case_conversation_detail,
    "conversation.messages": case_conversation_messages,
    "conversation.message": case_conversation_message,
    "conversation.reply": case_conversation_reply,
    "conversation.reaction": case_conversation_reaction,
    "conversation.tag": case_conversation_tag,
    "conversation.subscribe": case_conversation_subscribe,
    "conversation_tag.list": case_conversation_tag_list,
    "conversation_tag.create": case_conversation_tag_create,
    "conversation_tag.detail": case_conversation_tag_detail,
    "conversation_tag.edit": case_conversation_tag_edit,
    "conversation_tag.delete": case_conversation_tag_delete,
    "file.list": case_file_list,
    "file.upload": case_file_upload,
    "file.detail": case_file_detail,
    "file.delete": case_file_delete,
    "file.sticker_image": case_file_sticker_image,
    "insights.account": case_insights_account,
    "insights.post": case_insights_post,
    "user.me": case_user_me,
    "user.storage": case_user_storage,
    "post.list": case_post_list,
    "post.create": case_post_create,
    "post.group": case_post_group,
    "post.detail": case_post_detail,
    "post.edit": case_post_edit,
    "post.edit_published": case_post_edit_published,
    "post.retry": case_post_retry,
    "post.cancel": case_post_cancel,
    "post.delete": case_post_delete,
    "post.drafts": case_post_drafts,
    "search.location": case_search_location,
    "search.people": case_search_people,
    "search.hashtag": case_search_hashtag,
    "ticket.list": case_ticket_list,
    "ticket.departments": case_ticket_departments,
    "ticket.create": case_ticket_create,
    "ticket.detail": case_ticket_detail,
    "ticket.messages": case_ticket_messages,
    "ticket.reply": case_ticket_reply,
    "ticket.close": case_ticket_close,
}


@pytest.mark.parametrize("name", sorted(CASES))
async def test_endpoint(name: str, client: ResontClient, fake: FakeResont) -> None:
    await CASES[name](client, fake)


def test_every_documented_service_has_a_case() -> None:
    # oauth.token is exercised by test_resont_auth.py.
    assert set(CASES) == set(ENDPOINTS) - {"oauth.token"}


async def test_user_settings_are_fetched_once_and_shape_every_date(client: ResontClient, fake: FakeResont) -> None:
    fake.user.update(dateformat="d/m/Y", timeformat="h:i A", timezone="America/New_York")
    stored = fake.add_comment(fake.add_account()["id"], created=datetime(2024, 7, 4, 21, 15, tzinfo=UTC))
    assert fake.render_date(stored["date"]) == "04/07/2024 05:15 PM"
    first = await client.comments.get(stored["id"])
    second = await client.comments.get(stored["id"])
    assert first.date == second.date == stored["date"]
    assert len(fake.requests_to(r"^GET me$")) == 1


async def test_jalali_dates_in_persian_settings(client: ResontClient, fake: FakeResont) -> None:
    fake.jalali = True
    fake.user.update(dateformat="Y/m/d", timeformat="H:i")
    moment = datetime(2024, 3, 20, 6, 0, tzinfo=UTC)  # 1403/01/01 09:30 in Tehran
    stored = fake.add_comment(fake.add_account()["id"], created=moment)
    assert fake.render_date(stored["date"]) == "1403/01/01 09:30"
    assert (await client.comments.get(stored["id"])).date == moment


async def test_wrapped_single_objects_are_unwrapped(client: ResontClient, fake: FakeResont) -> None:
    fake.wrap_objects = True
    stored = fake.add_comment(fake.add_account()["id"], "wrapped")
    assert (await client.comments.get(stored["id"])).text == "wrapped"
    assert await client.comments.like(stored["id"])


def test_post_input_refuses_a_naive_schedule_date() -> None:
    with pytest.raises(ValueError):
        PostInput(caption="x", schedule_date=datetime(2031, 1, 1)).to_form()


def test_sticker_image_with_bad_base64_is_malformed() -> None:
    from bot.clients.resont.errors import ResontMalformed

    image = GeneratedImage.from_raw({"image": "not base64!!", "mime": "image/png"})
    with pytest.raises(ResontMalformed):
        image.content()
    assert (
        GeneratedImage.from_raw({"image": "data:image/png;base64," + base64.b64encode(b"ok").decode()}).content()
        == b"ok"
    )
