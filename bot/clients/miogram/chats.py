"""Chat and profile functions of the sending agent (``isSuper`` to change, ``canGet`` to read):
groups, blocking, read marks, user info, dialogs, history, username and profile."""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.clients.miogram import phones
from bot.clients.miogram.checks import SendChecks
from bot.clients.miogram.media import Media
from bot.clients.miogram.phones import InvalidPhone
from bot.clients.miogram.replies import JSONValue, as_bool, as_object
from bot.clients.miogram.transport import Transport, misc_part

_USERNAME = re.compile(r"[A-Za-z0-9_]{1,64}")


class ChatFunctions:
    """The chat and profile Funcs. Writes are never repeated; reads are (on 999 and transport
    errors). A name with a comma is refused before sending: ``Misc`` is split on commas."""

    def __init__(self, transport: Transport, checks: SendChecks) -> None:
        self._transport = transport
        self._checks = checks

    async def _write(self, func: str, **fields: str) -> bool:
        return as_bool(await self._transport.write(func, **fields))

    async def _read(self, func: str, **fields: str) -> JSONValue | None:
        return as_object(await self._transport.read(func, **fields))

    async def set_status_online(self, online: bool = True) -> bool:
        """SetStatusOnline (isSuper): show the agent online or offline."""
        return await self._write("SetStatusOnline", Misc="Online" if online else "Offline")

    async def send_typing(self, phone: str) -> bool:
        """SendTyping (isSuper): show "typing…" to one number."""
        return await self._write("SendTyping", Phone=self._checks.number(phone))

    async def create_group_chat(self, name: str, numbers: Iterable[str]) -> bool:
        """CreateGroupChat (isSuper): a group named ``name`` with ``numbers``."""
        parsed = phones.parse_numbers(list(numbers), self._checks.region)
        if parsed.invalid:
            raise InvalidPhone(*parsed.invalid[0])
        if not parsed.valid:
            raise ValueError("a group needs at least one number")
        return await self._write("CreateGroupChat", Misc=misc_part(name), Phone=",".join(parsed.valid))

    async def chat_info(self, name: str) -> JSONValue | None:
        """ChatInfo (canGet): the chat's data as the service gives it, None when it is unknown."""
        return await self._read("ChatInfo", Misc=misc_part(name))

    async def rename_chat(self, old: str, new: str) -> bool:
        """RenameChat (isSuper)."""
        return await self._write("RenameChat", Misc=f"{misc_part(old)},{misc_part(new)}")

    async def chat_add_user(self, chat: str, phone: str, forward_count: int = 0) -> bool:
        """ChatAddUser (isSuper): add a number, forwarding it the last ``forward_count`` messages."""
        if forward_count < 0:
            raise ValueError("forward_count cannot be negative")
        misc = f"{misc_part(chat)},{int(forward_count)}"
        return await self._write("ChatAddUser", Misc=misc, Phone=self._checks.number(phone))

    async def chat_delete_user(self, chat: str, phone: str) -> bool:
        """ChatDeleteUser (isSuper)."""
        return await self._write("ChatDeleteUser", Misc=misc_part(chat), Phone=self._checks.number(phone))

    async def set_profile_name(self, first: str, last: str = "") -> bool:
        """SetProfileName (isSuper): the agent's first and last name."""
        return await self._write("SetProfileName", Misc=f"{misc_part(first)},{misc_part(last, empty=True)}")

    async def block_user(self, phone: str) -> bool:
        """BlockUser (isSuper)."""
        return await self._write("BlockUser", Phone=self._checks.number(phone))

    async def unblock_user(self, phone: str) -> bool:
        """UnBlockUser (isSuper)."""
        return await self._write("UnBlockUser", Phone=self._checks.number(phone))

    async def mark_read(self, phone: str) -> bool:
        """MarkRead (isSuper): mark the number's messages read."""
        return await self._write("MarkRead", Phone=self._checks.number(phone))

    async def get_user_info(self, phone: str) -> JSONValue | None:
        """GetUserInfo (canGet): the user's data, None when the service has none."""
        return await self._read("GetUserInfo", Phone=self._checks.number(phone))

    async def get_dialog_list(self) -> JSONValue | None:
        """GetDialogList (canGet): the agent's conversations."""
        return await self._read("GetDialogList")

    async def get_history(self, phone: str, *, limit: int = 20, offset: int = 0) -> JSONValue | None:
        """GetHistory (canGet): messages with one number. The server reads ``Misc`` as
        ``limit,offset`` (the document says offset,limit), so that is what is sent."""
        if limit < 1 or offset < 0:
            raise ValueError("limit must be positive and offset not negative")
        misc = f"{int(limit)},{int(offset)}"
        return await self._read("GetHistory", Misc=misc, Phone=self._checks.number(phone))

    async def set_username(self, username: str) -> bool:
        """SetUsername (isSuper): letters, digits and underscores (the server refuses a space)."""
        if not _USERNAME.fullmatch(username or ""):
            raise ValueError("a username is letters, digits and underscores, without spaces")
        return await self._write("SetUsername", Misc=username)

    async def set_profile_photo(self, media: Media) -> bool:
        """SetProfilePhoto (isSuper): checked against the Photo limit."""
        await self._checks.check_media(media, "photo")
        return as_bool(await self._transport.write_file("SetProfilePhoto", media))
