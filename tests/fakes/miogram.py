"""An in-repo fake of the MioGram web service (``dojob.php``), built from the v1.2 document and
from what the provider's published server code actually answers.

Behaviour (see docs/miogram-reference.md, "What the provider's server code actually answers"):
- always HTTP 200 with ``Content-Type: text/html``; the JSON is in the body;
- checks before any Func, in this order: non-POST → 812 (repeated bad requests → 815), then 800,
  801, 826, 827, 802, 309 — each as ``{"Message", "Status": "error", "Code": "<string>"}``;
- gateway errors carry no Code: ``"Error 302 : Bad Request of Func "`` inside ``Message`` (or as
  the whole plain-text body with ``gateway_errors_as_text``);
- sends answer ``success``/``fail``, WhatsApp ``sent``, Mass ``checking`` with an object keyed by
  each number as sent; a Mass needs credit ≥ its count (else 305 for the whole request, nothing
  sent); a single send goes out while credit ≥ 0; credit is charged per ``true`` result;
- limits are kept in bytes; the message limit counts UTF-8 bytes with ``"\\n" + ad_footer``.

Everything is state on the instance, set by tests before or between requests. The fake keeps its
own tables (not the client's) so the two cannot agree on a mistake.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any

from tests.fakes.base import FakeRequest, FakeResponse, FakeService

MIB = 1_048_576
FIELDS = ("Secret", "Func", "Misc", "Message", "Phone", "Data", "Robot")

_SUPER = frozenset(
    {
        "SetStatusOnline",
        "SendTyping",
        "CreateGroupChat",
        "RenameChat",
        "ChatAddUser",
        "ChatDeleteUser",
        "SetProfileName",
        "BlockUser",
        "UnBlockUser",
        "MarkRead",
        "SetUsername",
        "SetProfilePhoto",
    }
)
_CAN_GET = frozenset({"ChatInfo", "GetUserInfo", "GetDialogList", "GetHistory"})
# Which credit and which size limit each send uses.
_CREDIT: Mapping[str, str] = MappingProxyType(
    {
        "SendMessage": "Message",
        "SendMessageMass": "Message",
        "SendMessageWhatsApp": "Message",
        "SendMessageWhatsAppMass": "Message",
        "SendPhoto": "Photo",
        "SendPhotoMass": "Photo",
        "SendVideo": "Video",
        "SendVideoMass": "Video",
        "SendAudio": "File",
        "SendText": "File",
        "SendFile": "File",
        "SendDocument": "File",
        "SendFileMass": "File",
        "SendLocation": "Other",
        "SendContact": "Other",
    }
)
_FILE_SENDS = frozenset(
    {
        "SendPhoto",
        "SendVideo",
        "SendAudio",
        "SendText",
        "SendFile",
        "SendDocument",
        "SendPhotoMass",
        "SendVideoMass",
        "SendFileMass",
    }
)
#: the server reads only this many records of an account's send log
SERVER_WINDOW = 1000
TEHRAN = timezone(timedelta(hours=3, minutes=30))
_NUMBER = re.compile(r"^\+?\d{7,15}$")


def _digits(number: str) -> str:
    return re.sub(r"\D", "", number)


@dataclass
class ReceivedFile:
    """A file the fake decoded from ``Data`` (its digest, not its bytes, to keep memory low)."""

    func: str
    extension: str
    size: int
    sha256: str


class FakeMioGram(FakeService):
    """The MioGram fake. Settable state (all public attributes):

    ``secret``, ``active``, ``robots`` (active agent names; empty → 827), ``allowed_ips`` ("*" or
    comma-separated), ``client_ip`` (the caller's address as the fake sees it), ``server_ip``,
    ``username``, ``is_super``, ``can_get``, ``credits`` (per kind, as strings, like the server),
    ``limits`` (bytes; ``Message`` in UTF-8 bytes), ``ad_footer`` (ads shown when non-empty),
    ``not_delivered`` (numbers answered false), ``wrong_numbers`` (numbers answered "Number Not
    Exist or Wrong"), ``mass_999_over`` (a Mass over that many numbers still sends, then answers
    999 — with no credit charged and no report record), ``mass_keys_without_plus``,
    ``gateway_errors_as_text``, ``whatsapp_supported`` (False → the gateway's "Error 101 : WhatsApp
    Not Supported"), ``block_after`` (bad requests before 815), ``session_blocked``, ``now`` (the
    server's clock, Tehran time, for the report's DATE and TIME).

    Records: ``requests`` (every request), ``sent`` ((func, number) for every number the gateway
    attempted, delivered or not), ``delivered`` (those answered true), ``report_log`` (the account's
    send log, oldest first, one ``{Username, DATE, TIME, IP, DATA, Number, Delivered}`` of strings
    per logged request, exactly as the server's table holds it: see :meth:`log_request`),
    ``received_files``, ``chats``, ``blocked``, ``profile``.
    """

    def __init__(self, *, secret: str = "fake-secret-3c9e1f", latency: float = 0.0) -> None:
        super().__init__(latency)
        self.secret = secret
        self.active = True
        self.robots = ["Miogram"]
        self.allowed_ips = "*"
        self.client_ip = "127.0.0.1"
        self.server_ip = "185.0.0.10"
        self.username = "team-account"
        self.is_super = True
        self.can_get = True
        self.credits = {"Message": "1000", "Photo": "100", "Video": "100", "File": "100", "Other": "100"}
        self.limits = {"Message": 4096, "Photo": 5 * MIB, "Video": 50 * MIB, "File": 20 * MIB}
        self.ad_footer = ""
        self.not_delivered: set[str] = set()
        self.wrong_numbers: set[str] = set()
        self.mass_999_over: int | None = None
        self.mass_keys_without_plus = False
        self.gateway_errors_as_text = False
        self.whatsapp_supported = True
        self.block_after = 5
        self.session_blocked = False
        self.bad_requests = 0
        self.sent: list[tuple[str, str]] = []
        self.delivered: list[tuple[str, str]] = []
        self.report_log: list[dict[str, str]] = []
        self.now: Callable[[], datetime] = lambda: datetime.now(TEHRAN)
        self.received_files: list[ReceivedFile] = []
        self.chats: dict[str, list[str]] = {}
        self.blocked: set[str] = set()
        self.profile: dict[str, str] = {}
        self.online = False

    # --- configuration helpers

    def set_credit(self, kind: str, value: int) -> None:
        """Set the credit of ``kind`` (Message, Photo, Video, File, Other) — stored as a string."""
        self.credits[kind.capitalize()] = str(value)

    def credit(self, kind: str) -> int:
        return int(self.credits[kind.capitalize()])

    def set_limit(self, kind: str, value_bytes: int) -> None:
        self.limits[kind.capitalize()] = value_bytes

    @property
    def calls(self) -> list[dict[str, str]]:
        """Every request's seven fields (missing ones as None), in order."""
        return [{name: request.arg(name) for name in FIELDS} for request in self.requests]

    def calls_of(self, func: str) -> list[dict[str, str]]:
        return [call for call in self.calls if call["Func"] == func]

    def sent_numbers(self) -> list[str]:
        """Every number attempted, in order (duplicates kept: a repeat is a double send)."""
        return [number for _, number in self.sent]

    def signature(self, request: FakeRequest) -> str:
        return f"{request.method} {request.arg('Func') or ''}"

    # --- answers

    @staticmethod
    def _answer(body: Any) -> FakeResponse:
        return FakeResponse(200, body, content_type="text/html; charset=UTF-8")

    def _error(self, code: int, message: str) -> FakeResponse:
        return self._answer({"Message": message, "Status": "error", "Code": str(code)})

    def _gateway_error(self, code: int, message: str) -> FakeResponse:
        text = f"Error {code} : {message}"
        if self.gateway_errors_as_text:
            return self._answer(text)
        return self._answer({"Result": False, "Message": text, "Status": "error"})

    def _wrong_number(self) -> FakeResponse:
        return self._answer({"Result": False, "Message": "Number Not Exist or Wrong", "Status": "error"})

    @staticmethod
    def _bool(ok: bool) -> dict[str, Any]:
        return {"Result": ok, "Status": "success" if ok else "fail"}

    # --- routing

    def route(self, request: FakeRequest) -> FakeResponse:
        refused = self._gate(request)
        if refused is not None:
            return refused
        fields = {name: request.arg(name, "") or "" for name in FIELDS}
        func = fields["Func"]
        handler = self._handlers().get(func)
        if handler is None:
            return self._gateway_error(302, "Bad Request of Func ")
        if (func in _SUPER and not self.is_super) or (func in _CAN_GET and not self.can_get):
            return self._error(309, "Permission Denied")
        return handler(fields)

    def _gate(self, request: FakeRequest) -> FakeResponse | None:
        """The checks before any Func, in the server's order."""
        if self.session_blocked:
            return self._error(815, "Session Blocked")
        if request.method != "POST":
            self.bad_requests += 1
            if self.bad_requests > self.block_after:
                self.session_blocked = True
                return self._error(815, "Session Blocked")
            return self._error(812, "Bad Request")
        secret = request.arg("Secret", "") or ""
        if not secret:
            return self._error(800, "Empty Secret")
        if secret != self.secret:
            return self._error(801, "Invalid Secret")
        if not self.active:
            return self._error(826, "Account Not Activated")
        robot = request.arg("Robot", "") or ""
        if not self.robots or (robot and robot not in self.robots):
            return self._error(827, "No Robot Has Been Set Yet")
        allowed = [ip.strip() for ip in self.allowed_ips.split(",")]
        if "*" not in allowed and self.client_ip not in allowed:
            return self._error(802, "Invalid IP Address")
        return None

    def _handlers(self) -> dict[str, Callable[[dict[str, str]], FakeResponse]]:
        single = {name: self._single_send for name in _CREDIT if not name.endswith("Mass")}
        mass = {name: self._mass_send for name in _CREDIT if name.endswith("Mass")}
        handlers: dict[str, Callable[[dict[str, str]], FakeResponse]] = {
            **single,
            **mass,
            "SetStatusOnline": self._set_status_online,
            "SendTyping": self._on_one_number,
            "CreateGroupChat": self._create_group,
            "ChatInfo": self._chat_info,
            "RenameChat": self._rename_chat,
            "ChatAddUser": self._chat_add_user,
            "ChatDeleteUser": self._chat_delete_user,
            "SetProfileName": self._set_profile_name,
            "BlockUser": self._block,
            "UnBlockUser": self._unblock,
            "MarkRead": self._on_one_number,
            "GetUserInfo": self._user_info,
            "GetDialogList": self._dialog_list,
            "GetHistory": self._history,
            "SetUsername": self._set_username,
            "SetProfilePhoto": self._set_profile_photo,
            "APIGetLimits": self._api_limits,
            "APIGetCredits": self._api_credits,
            "APIGetIP": lambda f: self._answer({"Result": self.client_ip}),
            "APISetIP": self._api_set_ip,
            "APIChangeSecret": self._api_change_secret,
            "APIGetRobot": lambda f: self._answer({"Result": ",".join(self.robots)}),
            "APIGetActive": lambda f: self._answer({"Result": "1" if self.active else 0}),
            "APIGetUsername": lambda f: self._answer({"Result": self.username}),
            "APIisSuper": lambda f: self._answer({"Result": "1" if self.is_super else 0}),
            "APIcanGet": lambda f: self._answer({"Result": "1" if self.can_get else 0}),
            "APIGetAds": lambda f: self._answer({"Result": bool(self.ad_footer)}),
            "APIGetReport": self._api_report,
        }
        return handlers

    # --- content checks shared by sends

    def _check_message(self, text: str) -> FakeResponse | None:
        if not text:
            return self._error(330, "No Input")
        full = text + ("\n" + self.ad_footer if self.ad_footer else "")
        if len(full.encode("utf-8")) > int(self.limits["Message"]):
            return self._error(304, "Message Length is Too High")
        return None

    def _decode_file(self, func: str, fields: dict[str, str], limit_kind: str) -> FakeResponse | None:
        if not fields["Data"] or (func != "SetProfilePhoto" and not fields["Misc"]):
            return self._error(330, "No Input")
        try:
            content = base64.b64decode(fields["Data"], validate=True)
        except (binascii.Error, ValueError):
            return self._gateway_error(400, "Not Valid File")
        if len(content) > int(self.limits[limit_kind]):
            return self._error(303, "File Size is Too High")
        digest = hashlib.sha256(content).hexdigest()
        self.received_files.append(ReceivedFile(func, fields["Misc"], len(content), digest))
        return None

    def _check_content(self, func: str, fields: dict[str, str]) -> FakeResponse | None:
        if func in _FILE_SENDS:
            return self._decode_file(func, fields, _CREDIT[func])
        if func.startswith("SendMessage"):
            return self._check_message(fields["Message"])
        if func == "SendLocation":
            return None if _floats(fields["Misc"], 2) else self._error(330, "No Input")
        if func == "SendContact":
            parts = fields["Misc"].split(",")
            return None if len(parts) == 2 and all(parts) else self._error(330, "No Input")
        return None

    # --- sends

    def _numbers(self, phone: str) -> list[str] | None:
        numbers = phone.split(",") if phone else []
        if not numbers or any(not _NUMBER.match(n) for n in numbers):
            return None
        return numbers

    def _deliver(self, func: str, number: str) -> bool:
        """The gateway's attempt at one number: recorded (credit and the report come after)."""
        digits = _digits(number)
        ok = func.startswith("SendMessageWhatsApp") or not (
            digits in {_digits(n) for n in self.not_delivered} or digits in {_digits(n) for n in self.wrong_numbers}
        )
        self.sent.append((func, number))
        if ok:
            self.delivered.append((func, number))
        return ok

    def _charge(self, func: str, count: int) -> None:
        """Credit is charged per ``true`` result."""
        kind = _CREDIT[func]
        self.credits[kind] = str(int(self.credits[kind]) - count)

    def log_request(self, fields: Mapping[str, str], number: str, delivered: str) -> None:
        """Write one record of the account's send log as the server does: ``DATA`` is the file's
        base64 for a file send, else the message text; ``Number`` is the Phone field as sent."""
        when = self.now()
        data = fields["Data"] if fields["Func"] in _FILE_SENDS else fields["Message"]
        self.report_log.append(
            {
                "Username": self.username,
                "DATE": when.strftime("%Y-%m-%d"),
                "TIME": when.strftime("%H:%M:%S"),
                "IP": self.client_ip,
                "DATA": data,
                "Number": number,
                "Delivered": delivered,
            }
        )

    def add_old_records(self, count: int) -> None:
        """A busy account: ``count`` earlier sends (to other numbers) already in the log."""
        for index in range(count):
            number = f"+98935{2000000 + index}"
            fields = {"Func": "SendMessageMass", "Message": f"old news {index}", "Data": ""}
            self.log_request(fields, number, number)

    def _is_wrong(self, number: str) -> bool:
        return _digits(number) in {_digits(n) for n in self.wrong_numbers}

    def _single_send(self, fields: dict[str, str]) -> FakeResponse:
        func = fields["Func"]
        if func.startswith("SendMessageWhatsApp") and not self.whatsapp_supported:
            return self._gateway_error(101, "WhatsApp Not Supported")
        numbers = self._numbers(fields["Phone"])
        if numbers is None or len(numbers) != 1:
            return self._wrong_number()
        refused = self._check_content(func, fields)
        if refused is not None:
            return refused
        if int(self.credits[_CREDIT[func]]) < 0:
            return self._error(305, "No Credit")
        if self._is_wrong(numbers[0]):
            return self._wrong_number()
        ok = self._deliver(func, numbers[0])
        if ok:  # a single send is logged only when delivered
            self._charge(func, 1)
            self.log_request(fields, fields["Phone"], fields["Phone"])
        if func == "SendMessageWhatsApp":
            return self._answer({"Result": True, "Status": "sent"})
        return self._answer(self._bool(ok))

    def _mass_send(self, fields: dict[str, str]) -> FakeResponse:
        func = fields["Func"]
        if func.startswith("SendMessageWhatsApp") and not self.whatsapp_supported:
            return self._gateway_error(101, "WhatsApp Not Supported")
        numbers = self._numbers(fields["Phone"])
        if numbers is None:
            return self._wrong_number()
        refused = self._check_content(func, fields)
        if refused is not None:
            return refused
        if int(self.credits[_CREDIT[func]]) < len(numbers):
            return self._error(305, "No Credit")
        results = {}
        for number in numbers:
            key = number.lstrip("+") if self.mass_keys_without_plus else number
            results[key] = self._deliver(func, number)
        if self.mass_999_over is not None and len(numbers) > self.mass_999_over:
            # The front end gave up waiting while the gateway went on sending: it exits before
            # charging credit or writing the report record.
            return self._error(999, "No Response From Server")
        delivered = [key for key, ok in results.items() if ok]
        self._charge(func, len(delivered))
        self.log_request(fields, fields["Phone"], ",".join(delivered))
        if func == "SendMessageWhatsAppMass":
            return self._answer({"Result": True, "Status": "sent"})
        return self._answer({"Result": results, "Status": "checking"})

    # --- chat and profile

    def _one_number(self, fields: dict[str, str]) -> str | None:
        numbers = self._numbers(fields["Phone"])
        return numbers[0] if numbers is not None and len(numbers) == 1 else None

    def _on_one_number(self, fields: dict[str, str]) -> FakeResponse:
        return self._answer(self._bool(True)) if self._one_number(fields) else self._wrong_number()

    def _set_status_online(self, fields: dict[str, str]) -> FakeResponse:
        if fields["Misc"] not in ("Online", "Offline"):
            return self._error(330, "No Input")
        self.online = fields["Misc"] == "Online"
        return self._answer(self._bool(True))

    def _create_group(self, fields: dict[str, str]) -> FakeResponse:
        numbers = self._numbers(fields["Phone"])
        if numbers is None:
            return self._wrong_number()
        name = fields["Misc"]
        if not name:
            return self._error(330, "No Input")
        if name in self.chats:
            return self._answer(self._bool(False))
        self.chats[name] = list(numbers)
        return self._answer(self._bool(True))

    def _chat_info(self, fields: dict[str, str]) -> FakeResponse:
        members = self.chats.get(fields["Misc"])
        if members is None:
            return self._answer({"Result": False, "Status": "fail"})
        return self._answer({"Result": {"Name": fields["Misc"], "Members": members}, "Status": "success"})

    def _rename_chat(self, fields: dict[str, str]) -> FakeResponse:
        parts = fields["Misc"].split(",")
        if len(parts) != 2 or not all(parts):
            return self._error(330, "No Input")
        old, new = parts
        if old not in self.chats or new in self.chats:
            return self._answer(self._bool(False))
        self.chats[new] = self.chats.pop(old)
        return self._answer(self._bool(True))

    def _chat_add_user(self, fields: dict[str, str]) -> FakeResponse:
        number = self._one_number(fields)
        parts = fields["Misc"].split(",")
        if number is None:
            return self._wrong_number()
        if len(parts) != 2 or not parts[1].isdigit():
            return self._error(330, "No Input")
        if parts[0] not in self.chats:
            return self._answer(self._bool(False))
        self.chats[parts[0]].append(number)
        return self._answer(self._bool(True))

    def _chat_delete_user(self, fields: dict[str, str]) -> FakeResponse:
        number = self._one_number(fields)
        if number is None:
            return self._wrong_number()
        members = self.chats.get(fields["Misc"], [])
        if number not in members:
            return self._answer(self._bool(False))
        members.remove(number)
        return self._answer(self._bool(True))

    def _set_profile_name(self, fields: dict[str, str]) -> FakeResponse:
        parts = fields["Misc"].split(",")
        if len(parts) != 2 or not parts[0]:
            return self._error(330, "No Input")
        self.profile["first"], self.profile["last"] = parts
        return self._answer(self._bool(True))

    def _block(self, fields: dict[str, str]) -> FakeResponse:
        number = self._one_number(fields)
        if number is None:
            return self._wrong_number()
        self.blocked.add(number)
        return self._answer(self._bool(True))

    def _unblock(self, fields: dict[str, str]) -> FakeResponse:
        number = self._one_number(fields)
        if number is None:
            return self._wrong_number()
        was = number in self.blocked
        self.blocked.discard(number)
        return self._answer(self._bool(was))

    def _user_info(self, fields: dict[str, str]) -> FakeResponse:
        number = self._one_number(fields)
        if number is None:
            return self._wrong_number()
        if self._is_wrong(number):
            return self._answer({"Result": False, "Status": "fail"})
        info = {"Phone": number, "FirstName": "User", "Blocked": number in self.blocked}
        return self._answer({"Result": info, "Status": "success"})

    def _dialog_list(self, fields: dict[str, str]) -> FakeResponse:
        seen = list(dict.fromkeys(number for _, number in self.delivered))
        return self._answer({"Result": [{"Phone": n, "Unread": 0} for n in seen], "Status": "success"})

    def _history(self, fields: dict[str, str]) -> FakeResponse:
        number = self._one_number(fields)
        if number is None:
            return self._wrong_number()
        # The server reads Misc as limit,offset (the document says offset,limit).
        parts = fields["Misc"].split(",")
        if len(parts) != 2 or not all(p.isdigit() for p in parts):
            return self._error(330, "No Input")
        limit, offset = int(parts[0]), int(parts[1])
        messages = [{"Func": f, "Phone": n} for f, n in self.delivered if _digits(n) == _digits(number)]
        return self._answer({"Result": messages[offset : offset + limit], "Status": "success"})

    def _set_username(self, fields: dict[str, str]) -> FakeResponse:
        if not fields["Misc"] or " " in fields["Misc"]:
            return self._error(330, "No Input")
        self.profile["username"] = fields["Misc"]
        return self._answer(self._bool(True))

    def _set_profile_photo(self, fields: dict[str, str]) -> FakeResponse:
        refused = self._decode_file("SetProfilePhoto", fields, "Photo")
        return refused if refused is not None else self._answer(self._bool(True))

    # --- account functions

    def _api_limits(self, fields: dict[str, str]) -> FakeResponse:
        result = {
            "Message": str(self.limits["Message"]),
            "Photo": int(self.limits["Photo"]),
            "Video": int(self.limits["Video"]),
            "File": int(self.limits["File"]),
            "canGet": 1 if self.can_get else 0,
            "isSuper": 1 if self.is_super else 0,
        }
        return self._answer({"Result": result, "Status": "checking"})

    def _api_credits(self, fields: dict[str, str]) -> FakeResponse:
        return self._answer({"Result": {k: str(v) for k, v in self.credits.items()}, "Status": "checking"})

    def _api_set_ip(self, fields: dict[str, str]) -> FakeResponse:
        misc = fields["Misc"].strip()
        if not misc:
            return self._error(330, "No Input")
        self.allowed_ips = "*" if misc == "*" else f"{misc},{self.server_ip}"
        return self._answer(
            {"Result": self.allowed_ips, "Message": "Allow IP Sets", "Status": "success", "Code": "409"}
        )

    def _api_change_secret(self, fields: dict[str, str]) -> FakeResponse:
        self.secret = secrets.token_hex(12)
        return self._answer({"Result": self.secret, "Message": "Secret Changed", "Status": "success", "Code": "407"})

    def _api_report(self, fields: dict[str, str]) -> FakeResponse:
        """The server's report: ``Misc`` records (default and at most 1,000), newest first, of
        the first 1,000 records of the account's log only; a bare list, or 111 when empty."""
        misc = fields["Misc"].strip()
        count = min(int(misc), SERVER_WINDOW) if misc.isdigit() and int(misc) > 0 else SERVER_WINDOW
        window = self.report_log[:SERVER_WINDOW]
        if not window:
            return self._error(111, "No DATA")
        return self._answer(list(reversed(window))[:count])


def _floats(text: str, count: int) -> bool:
    parts = text.split(",")
    if len(parts) != count:
        return False
    try:
        [float(p) for p in parts]
    except ValueError:
        return False
    return True
