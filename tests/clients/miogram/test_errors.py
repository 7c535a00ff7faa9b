"""The three error shapes of MioGram, every documented code, malformed bodies, and the errors the
fake produces through its real checks (check order, permissions, credit, limits)."""

from __future__ import annotations

import httpx
import pytest

from bot.clients.miogram.client import MioGramClient
from bot.clients.miogram.errors import (
    ERRORS_BY_CODE,
    MioGramAccessError,
    MioGramAccountNotActivated,
    MioGramBadFunc,
    MioGramBadRequest,
    MioGramCreditError,
    MioGramEmptySecret,
    MioGramError,
    MioGramFileTooBig,
    MioGramGatewayError,
    MioGramGatewayIP,
    MioGramGatewayToken,
    MioGramInvalidFile,
    MioGramInvalidIP,
    MioGramInvalidSecret,
    MioGramIPSet,
    MioGramLowCredit,
    MioGramMalformed,
    MioGramMessageTooLong,
    MioGramNoCredit,
    MioGramNoData,
    MioGramNoInput,
    MioGramNoResponse,
    MioGramNoRobot,
    MioGramNoUserId,
    MioGramNumberWrong,
    MioGramOutcomeUnknown,
    MioGramPermissionDenied,
    MioGramSecretChanged,
    MioGramServiceError,
    MioGramSessionBlocked,
    MioGramTransportError,
    MioGramWhatsAppNotSupported,
)
from bot.clients.miogram.media import Media
from bot.clients.miogram.models import Outcome
from bot.clients.miogram.replies import parse_reply
from tests.fakes.miogram import FakeMioGram

URL = "http://miogram.test/dojob.php"
A = "+989121234567"

# (code, Message text of the document's table, exception class)
DOCUMENTED = [
    (800, "Empty Secret", MioGramEmptySecret),
    (801, "Invalid Secret", MioGramInvalidSecret),
    (802, "Invalid IP Address", MioGramInvalidIP),
    (812, "Bad Request", MioGramBadRequest),
    (813, "Invalid Token", MioGramGatewayToken),
    (814, "Invalid IP Address", MioGramGatewayIP),
    (815, "Session Blocked", MioGramSessionBlocked),
    (826, "Account Not Activated", MioGramAccountNotActivated),
    (827, "No Robot Has Been Set Yet", MioGramNoRobot),
    (301, "No UserID", MioGramNoUserId),
    (302, "Bad Request of Func ", MioGramBadFunc),
    (303, "File Size is Too High", MioGramFileTooBig),
    (304, "Message Length is Too High", MioGramMessageTooLong),
    (305, "No Credit", MioGramNoCredit),
    (306, "Low Credit", MioGramLowCredit),
    (307, "Number Not Exist or Wrong", MioGramNumberWrong),
    (309, "Permission Denied", MioGramPermissionDenied),
    (330, "No Input", MioGramNoInput),
    (400, "No Valid File", MioGramInvalidFile),
    (111, "No DATA", MioGramNoData),
    (999, "No Response From Server", MioGramNoResponse),
    (101, "WhatsApp Not Supported", MioGramWhatsAppNotSupported),
]
SHAPES = {
    "code-field": lambda code, text: {"Message": text, "Status": "error", "Code": str(code)},
    "numeric-code": lambda code, text: {"Message": text, "Status": "error", "Code": code},
    "in-message": lambda code, text: {"Result": False, "Message": f"Error {code} : {text}", "Status": "error"},
    "plain-text": lambda code, text: f"Error {code} : {text}",
}


async def _no_sleep(seconds: float) -> None:
    return None


@pytest.fixture
def client(fake: FakeMioGram, http: httpx.AsyncClient) -> MioGramClient:
    return MioGramClient(http, url=URL, secret=fake.secret, robot="Miogram", sleep=_no_sleep)


def test_every_documented_code_has_its_own_class() -> None:
    documented = {
        800,
        801,
        802,
        812,
        813,
        814,
        815,
        826,
        827,
        301,
        302,
        303,
        304,
        305,
        306,
        307,
        309,
        330,
        400,
        407,
        409,
        111,
        999,
    }
    assert documented <= set(ERRORS_BY_CODE)
    classes = [ERRORS_BY_CODE[code] for code in documented]
    assert len(set(classes)) == len(classes)
    assert all(cls.code == code for code, cls in ERRORS_BY_CODE.items())


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize(("code", "text", "cls"), DOCUMENTED, ids=[str(c) for c, _, _ in DOCUMENTED])
async def test_each_code_in_each_shape_through_the_client(
    shape: str, code: int, text: str, cls: type, client: MioGramClient, fake: FakeMioGram
) -> None:
    # SetStatusOnline is a write: it is never retried, so the first answer decides.
    fake.faults.add("status", status=200, match="SetStatusOnline", body=SHAPES[shape](code, text))
    with pytest.raises(cls) as caught:
        await client.chats.set_status_online()
    assert caught.value.code == code
    assert caught.value.func == "SetStatusOnline"
    assert str(caught.value).startswith(f"MioGram {code} ")
    assert len(fake.calls_of("SetStatusOnline")) == 1


# 814's text is the same as 802's: without a code it can only be read as the public 802.
UNAMBIGUOUS = [row for row in DOCUMENTED if row[0] != 814]


@pytest.mark.parametrize(("code", "text", "cls"), UNAMBIGUOUS, ids=[str(c) for c, _, _ in UNAMBIGUOUS])
def test_message_text_alone_identifies_the_code(code: int, text: str, cls: type) -> None:
    with pytest.raises(cls):
        parse_reply(f'{{"Result": false, "Message": "{text}", "Status": "error"}}', "SendMessage")
    with pytest.raises(cls):
        parse_reply(text, "SendMessage")  # the bare text as the whole body


def test_ambiguous_invalid_ip_text_reads_as_the_public_802() -> None:
    with pytest.raises(MioGramInvalidIP):
        parse_reply('{"Message": "Invalid IP Address", "Status": "error"}', "SendMessage")


def test_unknown_codes_are_generic_service_errors() -> None:
    with pytest.raises(MioGramServiceError) as caught:
        parse_reply('{"Status": "error", "Message": "Something new", "Code": "555"}', "APIGetIP")
    assert type(caught.value) is MioGramServiceError and caught.value.code == 555
    with pytest.raises(MioGramServiceError) as caught:
        parse_reply('{"Status": "error", "Message": "Mystery"}', "APIGetIP")
    assert caught.value.code is None and "Mystery" in str(caught.value)


def test_families() -> None:
    assert issubclass(MioGramNoCredit, MioGramCreditError) and issubclass(MioGramLowCredit, MioGramCreditError)
    assert issubclass(MioGramInvalidSecret, MioGramAccessError)
    assert issubclass(MioGramGatewayToken, MioGramGatewayError)
    for cls in (MioGramMalformed, MioGramTransportError, MioGramOutcomeUnknown, MioGramServiceError):
        assert issubclass(cls, MioGramError)


def test_success_shapes_are_not_errors() -> None:
    assert parse_reply('{"Result":true,"Status":"success"}', "SendMessage").result is True
    assert parse_reply('{"Result":false,"Status":"fail"}', "SendMessage").result is False
    assert parse_reply('{"Result":true,"Status":"sent"}', "SendMessageWhatsApp").status == "sent"
    assert parse_reply('{"Result":{"+98912":true},"Status":"checking"}', "SendMessageMass").result == {"+98912": True}
    assert parse_reply('{"Result":"1"}', "APIGetActive").result == "1"
    assert parse_reply('[{"ID":1}]', "APIGetReport").result == [{"ID": 1}]
    assert parse_reply(b'\xef\xbb\xbf{"Result":0}', "APIcanGet").result == 0  # a BOM in front


def test_fail_with_a_code_or_error_text_is_an_error() -> None:
    with pytest.raises(MioGramNoCredit):
        parse_reply('{"Result":false,"Status":"fail","Code":"305"}', "SendMessage")
    with pytest.raises(MioGramNoCredit):
        parse_reply('{"Result":false,"Status":"fail","Message":"No Credit"}', "SendMessage")


async def test_a_send_answer_without_result_is_unknown(client: MioGramClient, fake: FakeMioGram) -> None:
    fake.faults.add("status", status=200, match="SendMessage$", body={"Status": "success"})
    assert await client.sends.send_message(A, "hi") is Outcome.UNKNOWN
    fake.faults.add(
        "status",
        status=200,
        match="SendMessageMass",
        body={"Result": {A: None, "+989351112222": "queued"}, "Status": "checking"},
    )
    batch = await client.mass.send_message_mass([A, "+989351112222"], "hi")
    assert set(batch.outcomes.values()) == {Outcome.UNKNOWN}


def test_secret_changed_and_ip_set_are_the_success_of_their_writes() -> None:
    assert (
        parse_reply(
            '{"Result":"new","Message":"Secret Changed","Status":"error","Code":"407"}', "APIChangeSecret"
        ).result
        == "new"
    )
    assert (
        parse_reply('{"Result":"*","Message":"Allow IP Sets","Status":"success","Code":"409"}', "APISetIP").code == 409
    )
    assert MioGramSecretChanged.code == 407 and MioGramIPSet.code == 409


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("", "empty body"),
        ("   \n", "empty body"),
        ("null", "null"),
        (
            '<br />\n<b>Warning</b>:  Undefined array key "Phone" in <b>/var/www/dojob.php</b> on line <b>12</b>'
            '<br />\n{"Result":true,"Status":"success"}',
            "PHP warning",
        ),
        ("Notice: Undefined index: Misc in /var/www/dojob.php on line 40", "PHP warning"),
        ("<html><body>Service Unavailable</body></html>", "not JSON"),
        ('{"Result": tr', "not JSON"),
        ("42", "unexpected JSON"),
    ],
)
def test_malformed_bodies(body: str, fragment: str) -> None:
    with pytest.raises(MioGramMalformed) as caught:
        parse_reply(body, "APIGetCredits")
    assert fragment in str(caught.value)


async def test_truncated_answer_on_a_read_is_malformed(client: MioGramClient, fake: FakeMioGram) -> None:
    fake.faults.add("truncated", match="APIGetCredits")
    with pytest.raises(MioGramMalformed):
        await client.account.credits()


async def test_truncated_answer_on_a_send_is_unknown(client: MioGramClient, fake: FakeMioGram) -> None:
    await client.checks.limits()
    fake.faults.add("truncated", match="SendMessageMass")
    with pytest.raises(MioGramOutcomeUnknown) as caught:
        await client.mass.send_message_mass([A], "hi")
    assert isinstance(caught.value.cause, MioGramMalformed)
    assert fake.sent == [("SendMessageMass", A)]


async def test_a_gateway_html_error_page_is_a_transport_error(client: MioGramClient, fake: FakeMioGram) -> None:
    fake.faults.add("non_json", times=3, match="APIGetAds")
    with pytest.raises(MioGramTransportError) as caught:
        await client.account.api_get_ads()
    assert caught.value.status == 502
    assert len(fake.calls_of("APIGetAds")) == 3  # a 5xx on a read is retried


# --- errors produced by the fake's own checks, in the server's order


async def test_check_order_of_the_server(fake: FakeMioGram, http: httpx.AsyncClient) -> None:
    fake.active, fake.robots, fake.allowed_ips, fake.is_super = False, [], "10.1.1.1", False
    expectations = [
        (MioGramClient(http, url=URL, secret="", sleep=_no_sleep), MioGramEmptySecret),
        (MioGramClient(http, url=URL, secret="wrong", sleep=_no_sleep), MioGramInvalidSecret),
    ]
    for client, cls in expectations:
        with pytest.raises(cls):
            await client.chats.set_status_online()
    client = MioGramClient(http, url=URL, secret=fake.secret, sleep=_no_sleep)
    for cls, fix in [
        (MioGramAccountNotActivated, "active"),
        (MioGramNoRobot, "robots"),
        (MioGramInvalidIP, "allowed_ips"),
        (MioGramPermissionDenied, "is_super"),
    ]:
        with pytest.raises(cls):
            await client.chats.set_status_online()
        setattr(fake, fix, {"active": True, "robots": ["Miogram"], "allowed_ips": "*", "is_super": True}[fix])
    assert await client.chats.set_status_online() is True


async def test_robot_not_among_the_active_agents(fake: FakeMioGram, http: httpx.AsyncClient) -> None:
    client = MioGramClient(http, url=URL, secret=fake.secret, robot="Other", sleep=_no_sleep)
    with pytest.raises(MioGramNoRobot):
        await client.account.api_get_robot()


async def test_can_get_permission(client: MioGramClient, fake: FakeMioGram) -> None:
    fake.can_get = False
    with pytest.raises(MioGramPermissionDenied):
        await client.chats.get_dialog_list()
    assert len(fake.calls_of("GetDialogList")) == 1  # an error, not a transient fault: no retry


async def test_non_post_is_812_then_the_session_is_blocked(fake: FakeMioGram, http: httpx.AsyncClient) -> None:
    fake.block_after = 2
    codes = []
    for _ in range(3):
        response = await http.get(URL)
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
        with pytest.raises(MioGramError) as caught:
            parse_reply(response.content, "GET")
        codes.append(caught.value.code)
    assert codes == [812, 812, 815]
    client = MioGramClient(http, url=URL, secret=fake.secret, sleep=_no_sleep)
    with pytest.raises(MioGramSessionBlocked):
        await client.chats.set_status_online()


@pytest.mark.parametrize("as_text", [False, True])
async def test_unknown_func_is_the_gateways_302(as_text: bool, fake: FakeMioGram, http: httpx.AsyncClient) -> None:
    fake.gateway_errors_as_text = as_text
    response = await http.post(URL, data={"Secret": fake.secret, "Func": "SendPigeon", "Robot": ""})
    assert response.text.startswith("Error 302 : Bad Request of Func ") == as_text
    with pytest.raises(MioGramBadFunc) as caught:
        parse_reply(response.content, "SendPigeon")
    assert caught.value.code == 302


async def test_bad_base64_is_the_gateways_400(fake: FakeMioGram, http: httpx.AsyncClient) -> None:
    response = await http.post(
        URL, data={"Secret": fake.secret, "Func": "SendPhoto", "Phone": A, "Misc": "jpg", "Data": "not base64!"}
    )
    with pytest.raises(MioGramInvalidFile):
        parse_reply(response.content, "SendPhoto")


async def test_single_send_to_a_wrong_number_is_invalid(client: MioGramClient, fake: FakeMioGram) -> None:
    fake.wrong_numbers.add(A)
    assert await client.sends.send_message(A, "hi") is Outcome.INVALID
    assert fake.sent == []


async def test_single_send_goes_out_at_zero_credit_then_305(client: MioGramClient, fake: FakeMioGram) -> None:
    fake.set_credit("Message", 0)
    assert await client.sends.send_message(A, "hi") is Outcome.SENT
    with pytest.raises(MioGramNoCredit) as caught:
        await client.sends.send_message(A, "hi")
    assert caught.value.numbers == (A,)
    assert fake.credit("Message") == -1 and len(fake.sent) == 1


async def test_stale_limits_let_the_server_refuse_with_304_and_303(client: MioGramClient, fake: FakeMioGram) -> None:
    await client.checks.limits()
    fake.limits["Message"], fake.limits["Photo"] = 5, 10
    with pytest.raises(MioGramMessageTooLong) as too_long:
        await client.sends.send_message(A, "a longer text")
    with pytest.raises(MioGramFileTooBig) as too_big:
        await client.sends.send_photo(A, Media(b"x" * 11, "png"))
    assert too_long.value.limit is None and too_big.value.limit is None  # the server gives no figures
    assert fake.sent == []


async def test_999_on_a_send_is_unknown_and_not_retried(client: MioGramClient, fake: FakeMioGram) -> None:
    fake.mass_999_over = 1
    with pytest.raises(MioGramOutcomeUnknown) as caught:
        await client.mass.send_message_mass([A, "+989351112222"], "hi")
    assert caught.value.code == 999 and isinstance(caught.value.cause, MioGramNoResponse)
    assert caught.value.numbers == (A, "+989351112222")
    assert len(fake.calls_of("SendMessageMass")) == 1
    assert "2 numbers" in str(caught.value)


async def test_whatsapp_not_supported_comes_from_the_gateway(client: MioGramClient, fake: FakeMioGram) -> None:
    fake.whatsapp_supported = False
    with pytest.raises(MioGramWhatsAppNotSupported):
        await client.sends.send_message_whatsapp(A, "hi")
    with pytest.raises(MioGramWhatsAppNotSupported) as caught:
        await client.mass.send_mass_batch([A], text="hi", whatsapp=True)
    assert caught.value.numbers == (A,) and fake.sent == []
