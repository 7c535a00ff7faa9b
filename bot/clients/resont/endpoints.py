"""Every Resont service the client calls, in one table: method, path, and where the path comes from.

The document gives no URL paths; ``docs/resont-client.md`` and the shared endpoint notes say which
are confirmed by public NovinHub code and which are inferred. A wrong path is a one-line fix here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class Endpoint:
    """One documented service: HTTP method, path template, and where the path comes from."""

    method: str
    path: str
    source: str = "inferred"


#: Every service the client calls. Paths are relative to the base URL; ``{name}`` is a path
#: parameter. ``source`` says whether public NovinHub code confirms the path.
ENDPOINTS: Mapping[str, Endpoint] = MappingProxyType(
    {
        "account.list": Endpoint("GET", "account", "confirmed"),
        "account.create": Endpoint("POST", "account"),
        "account.detail": Endpoint("GET", "account/{account_id}"),
        "account.edit": Endpoint("PUT", "account/{account_id}"),
        "account.delete": Endpoint("DELETE", "account/{account_id}"),
        "account_group.list": Endpoint("GET", "account-group"),
        "account_group.create": Endpoint("POST", "account-group"),
        "account_group.detail": Endpoint("GET", "account-group/{group_id}"),
        "account_group.edit": Endpoint("PUT", "account-group/{group_id}"),
        "account_group.delete": Endpoint("DELETE", "account-group/{group_id}"),
        "comment.list": Endpoint("GET", "comment", "inferred (third-party clients)"),
        "comment.detail": Endpoint("GET", "comment/{comment_id}"),
        "comment.replies": Endpoint("GET", "comment/{comment_id}/replies"),
        "comment.reply": Endpoint("POST", "comment/{comment_id}/reply"),
        "comment.like": Endpoint("POST", "comment/{comment_id}/like"),
        "comment.tag": Endpoint("POST", "comment/{comment_id}/tag"),
        "comment.delete": Endpoint("DELETE", "comment/{comment_id}"),
        "comment.subscribe": Endpoint("POST", "comment/subscribe"),
        "comment.social_user": Endpoint("GET", "comment/social-user/{social_user_id}"),
        "comment.post": Endpoint("GET", "comment/{comment_id}/post"),
        "comment_tag.list": Endpoint("GET", "comment-tag"),
        "comment_tag.create": Endpoint("POST", "comment-tag"),
        "comment_tag.detail": Endpoint("GET", "comment-tag/{tag_id}"),
        "comment_tag.edit": Endpoint("PUT", "comment-tag/{tag_id}"),
        "comment_tag.delete": Endpoint("DELETE", "comment-tag/{tag_id}"),
        "conversation.list": Endpoint("GET", "conversation", "inferred (third-party clients)"),
        "conversation.detail": Endpoint("GET", "conversation/{conversation_id}"),
        "conversation.messages": Endpoint(
            "GET", "conversation/{conversation_id}/messages", "inferred (third-party clients)"
        ),
        "conversation.message": Endpoint("GET", "conversation/message/{message_id}"),
        "conversation.reply": Endpoint(
            "POST", "conversation/{conversation_id}/reply", "inferred (third-party clients agree)"
        ),
        "conversation.reaction": Endpoint("POST", "conversation/message/{message_id}/reaction"),
        "conversation.tag": Endpoint("POST", "conversation/{conversation_id}/tag"),
        "conversation.subscribe": Endpoint("POST", "conversation/subscribe"),
        "conversation_tag.list": Endpoint("GET", "conversation-tag"),
        "conversation_tag.create": Endpoint("POST", "conversation-tag"),
        "conversation_tag.detail": Endpoint("GET", "conversation-tag/{tag_id}"),
        "conversation_tag.edit": Endpoint("PUT", "conversation-tag/{tag_id}"),
        "conversation_tag.delete": Endpoint("DELETE", "conversation-tag/{tag_id}"),
        "file.list": Endpoint("GET", "file"),
        "file.upload": Endpoint("POST", "file", "confirmed"),
        "file.detail": Endpoint("GET", "file/{file_id}"),
        "file.delete": Endpoint("DELETE", "file/{file_id}"),
        "file.sticker_image": Endpoint("POST", "file/{file_id}/generateImage"),
        "insights.account": Endpoint("GET", "insights/account/{account_id}"),
        "insights.post": Endpoint("GET", "insights/post/{post_group_id}"),
        "user.me": Endpoint("GET", "me"),
        "user.storage": Endpoint("GET", "me/files", "document names me/files"),
        "post.list": Endpoint("GET", "post"),
        "post.create": Endpoint("POST", "post", "confirmed"),
        "post.group": Endpoint("GET", "post/group/{post_group_id}", "inferred (third-party client)"),
        "post.detail": Endpoint("GET", "post/{post_id}"),
        "post.edit": Endpoint("PUT", "post/{post_group_id}"),
        "post.edit_published": Endpoint("POST", "post/{post_group_id}/edit"),
        "post.retry": Endpoint("POST", "post/{post_group_id}/retry"),
        "post.cancel": Endpoint("POST", "post/{post_group_id}/cancel"),
        "post.delete": Endpoint("DELETE", "post/{post_group_id}"),
        "post.drafts": Endpoint("GET", "post/draft"),
        "search.location": Endpoint("GET", "search/location"),
        "search.people": Endpoint("GET", "search/people"),
        "search.hashtag": Endpoint("GET", "search/hashtag"),
        "ticket.list": Endpoint("GET", "ticket"),
        "ticket.departments": Endpoint("GET", "ticket/department"),
        "ticket.create": Endpoint("POST", "ticket"),
        "ticket.detail": Endpoint("GET", "ticket/{ticket_id}"),
        "ticket.messages": Endpoint("GET", "ticket/{ticket_id}/meta"),
        "ticket.reply": Endpoint("POST", "ticket/{ticket_id}/meta"),
        "ticket.close": Endpoint("POST", "ticket/{ticket_id}/close"),
        "oauth.token": Endpoint("POST", "web/oauth/token", "inferred (under the OAuth root)"),
    }
)

#: Query parameters that carry credentials: never kept from a ``next`` link, never logged.
AUTH_PARAMS = frozenset({"token", "access_token"})
#: Query parameters that position a page; dropped from the original query when following a link.
CURSOR_PARAMS = frozenset({"page", "after", "before"})
#: Methods that can be repeated without changing the outcome.
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
