"""The MioGram exception tree: one class per documented code, grouped by what a caller can do
about it, and the tables that map the service's codes and texts to them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any


class MioGramError(Exception):
    """Base of every MioGram failure. ``code`` is the service's numeric code (None when the
    failure is not an answer of the service); ``str()`` is short, human and never holds the secret."""

    code: int | None = None
    title: str = "MioGram error"

    def __init__(
        self,
        detail: str = "",
        *,
        code: int | None = None,
        func: str | None = None,
        numbers: Sequence[str] = (),
    ) -> None:
        if code is not None:
            self.code = code
        self.detail = " ".join(detail.split())[:200]
        self.func = func
        self.numbers: tuple[str, ...] = tuple(numbers)
        super().__init__(self.describe())

    def describe(self) -> str:
        """The one-line text of ``str()``."""
        head = f"MioGram {self.code} {self.title}" if self.code is not None else f"MioGram {self.title}"
        detail = self.detail.strip()
        if detail and detail.rstrip(" .").lower() != self.title.lower():
            head = f"{head}: {detail}"
        return f"{head} ({self.func})" if self.func else head


class MioGramTransportError(MioGramError):
    """The answer never came: connection refused or dropped, timeout, or a non-200 status from
    something between us and the service (the service itself always answers 200)."""

    title = "transport error"

    def __init__(self, detail: str = "", *, status: int | None = None, timeout: bool = False, **kwargs: Any) -> None:
        self.status = status
        self.timeout = timeout
        super().__init__(detail, **kwargs)

    @property
    def retryable(self) -> bool:
        """True when repeating a read may help (not for a 4xx from a proxy)."""
        return self.status is None or self.status >= 500 or self.status == 429


class MioGramMalformed(MioGramError):
    """The body is not a usable answer: empty, not JSON, ``null``, a PHP warning, a wrong shape."""

    title = "malformed answer"


class MioGramOutcomeUnknown(MioGramError):
    """A send may or may not have gone out (999, lost connection, timeout, garbled answer).
    ``numbers`` are the numbers of that request; they must not be resent without a human's word."""

    title = "send outcome unknown"

    def __init__(self, detail: str = "", *, cause: MioGramError | None = None, **kwargs: Any) -> None:
        self.cause = cause
        kwargs.setdefault("code", cause.code if cause is not None else None)
        if not detail and cause is not None:
            detail = cause.detail or cause.title
        super().__init__(detail, **kwargs)

    def describe(self) -> str:
        head = f"MioGram {self.title}"
        if self.detail:
            head = f"{head}: {self.detail}"
        if self.func:
            head = f"{head} ({self.func}, {len(self.numbers)} numbers)"
        return head


class MioGramServiceError(MioGramError):
    """The service answered with an error; subclasses name each documented code."""

    title = "service error"


class MioGramAccessError(MioGramServiceError):
    """The account or its settings refuse the call: fix the configuration, retrying won't help."""


class MioGramGatewayError(MioGramServiceError):
    """A fault between the web service and its sending gateway: report it to the provider."""


class MioGramRequestError(MioGramServiceError):
    """The request itself was refused (bad Func, bad input, bad number or file)."""


class MioGramLimitError(MioGramServiceError):
    """Content over the account's limits. ``limit``/``actual`` are bytes when the client found it
    (None when the service refused it)."""

    unit = "bytes"

    def __init__(self, detail: str = "", *, limit: int | None = None, actual: int | None = None, **kwargs: Any) -> None:
        self.limit = limit
        self.actual = actual
        if not detail and limit is not None and actual is not None:
            detail = f"{actual:,} {self.unit} against a limit of {limit:,}"
        super().__init__(detail, **kwargs)


class MioGramCreditError(MioGramServiceError):
    """Not enough credit: nothing of the request went out."""


class MioGramEmptySecret(MioGramAccessError):
    code, title = 800, "Empty Secret"


class MioGramInvalidSecret(MioGramAccessError):
    code, title = 801, "Invalid Secret"


class MioGramInvalidIP(MioGramAccessError):
    code, title = 802, "Invalid IP Address"


class MioGramBadRequest(MioGramRequestError):
    code, title = 812, "Bad Request"


class MioGramGatewayToken(MioGramGatewayError):
    code, title = 813, "Invalid Token"


class MioGramGatewayIP(MioGramGatewayError):
    code, title = 814, "Invalid IP Address (gateway)"


class MioGramSessionBlocked(MioGramAccessError):
    code, title = 815, "Session Blocked"


class MioGramAccountNotActivated(MioGramAccessError):
    code, title = 826, "Account Not Activated"


class MioGramNoRobot(MioGramAccessError):
    code, title = 827, "No Robot Has Been Set Yet"


class MioGramNoUserId(MioGramRequestError):
    code, title = 301, "No UserID"


class MioGramBadFunc(MioGramRequestError):
    code, title = 302, "Bad Request of Func"


class MioGramFileTooBig(MioGramLimitError):
    code, title = 303, "File Size is Too High"


class MioGramMessageTooLong(MioGramLimitError):
    code, title = 304, "Message Length is Too High"

    def __init__(self, detail: str = "", *, footer: int = 0, **kwargs: Any) -> None:
        self.footer = footer
        limit, actual = kwargs.get("limit"), kwargs.get("actual")
        if not detail and limit is not None and actual is not None:
            extra = f" (ad footer {footer:,} included)" if footer else ""
            detail = f"{actual:,} UTF-8 bytes{extra} against a limit of {limit:,}"
        super().__init__(detail, **kwargs)


class MioGramNoCredit(MioGramCreditError):
    code, title = 305, "No Credit"


class MioGramLowCredit(MioGramCreditError):
    code, title = 306, "Low Credit"


class MioGramNumberWrong(MioGramRequestError):
    code, title = 307, "Number Not Exist or Wrong"


class MioGramPermissionDenied(MioGramAccessError):
    code, title = 309, "Permission Denied"


class MioGramNoInput(MioGramRequestError):
    code, title = 330, "No Input"


class MioGramInvalidFile(MioGramRequestError):
    code, title = 400, "No Valid File"


class MioGramWhatsAppNotSupported(MioGramRequestError):
    code, title = 101, "WhatsApp Not Supported"


class MioGramSecretChanged(MioGramServiceError):
    """407: the success answer of APIChangeSecret, an error only when it comes elsewhere."""

    code, title = 407, "Secret Changed"


class MioGramIPSet(MioGramServiceError):
    """409: the success answer of APISetIP, an error only when it comes elsewhere."""

    code, title = 409, "Allow IP Sets"


class MioGramNoData(MioGramServiceError):
    code, title = 111, "No DATA"


class MioGramNoResponse(MioGramServiceError):
    code, title = 999, "No Response From Server"


ERRORS_BY_CODE: Mapping[int, type[MioGramServiceError]] = MappingProxyType(
    {
        cls.code: cls
        for cls in (
            MioGramEmptySecret,
            MioGramInvalidSecret,
            MioGramInvalidIP,
            MioGramBadRequest,
            MioGramGatewayToken,
            MioGramGatewayIP,
            MioGramSessionBlocked,
            MioGramAccountNotActivated,
            MioGramNoRobot,
            MioGramNoUserId,
            MioGramBadFunc,
            MioGramFileTooBig,
            MioGramMessageTooLong,
            MioGramNoCredit,
            MioGramLowCredit,
            MioGramNumberWrong,
            MioGramPermissionDenied,
            MioGramNoInput,
            MioGramInvalidFile,
            MioGramWhatsAppNotSupported,
            MioGramSecretChanged,
            MioGramIPSet,
            MioGramNoData,
            MioGramNoResponse,
        )
        if cls.code is not None
    }
)

# The Message texts of the error table (and the server's own variants), for answers without a code.
CODES_BY_TEXT: Mapping[str, int] = MappingProxyType(
    {
        "empty secret": 800,
        "invalid secret": 801,
        "invalid ip address": 802,
        "bad request": 812,
        "invalid token": 813,
        "session blocked": 815,
        "account not activated": 826,
        "no robot has been set yet": 827,
        "no userid": 301,
        "bad request of func": 302,
        "file size is too high": 303,
        "message length is too high": 304,
        "no credit": 305,
        "low credit": 306,
        "number not exist or wrong": 307,
        "permission denied": 309,
        "no input": 330,
        "no valid file": 400,
        "not valid file": 400,
        "secret changed": 407,
        "allow ip sets": 409,
        "no data": 111,
        "no response from server": 999,
        "whatsapp not supported": 101,
    }
)


def error_for(
    code: int | None, detail: str = "", *, func: str | None = None, numbers: Sequence[str] = ()
) -> MioGramServiceError:
    """The typed exception for a service error ``code`` (a generic one for unknown codes)."""
    cls = ERRORS_BY_CODE.get(code) if code is not None else None
    if cls is None:
        return MioGramServiceError(detail, code=code, func=func, numbers=numbers)
    return cls(detail, func=func, numbers=numbers)
