"""Secrets never reach a log line: configured values, token query parameters, bot URLs."""

from __future__ import annotations

import logging

import httpx
import pytest

from bot.text.redact import RedactingFilter, redact


def test_redact_masks_configured_values_and_query_tokens():
    text = (
        "GET https://api.resont.com/token/v1/comment?token=abc123&page=2 "
        "https://x/v1/me?access_token=zzz https://api.telegram.org/bot123:AAHsecret/getMe "
        "secret mio-secret-key"
    )
    out = redact(text, ["mio-secret-key"])
    assert "abc123" not in out and "zzz" not in out and "AAHsecret" not in out and "mio-secret-key" not in out
    assert "page=2" in out  # only the secret part is masked


def _capture(logger_name: str, secrets: list[str]) -> tuple[logging.Logger, list[str]]:
    lines: list[str] = []

    class ListHandler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = ListHandler()
    handler.addFilter(RedactingFilter(secrets))
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    return logger, lines


def test_filter_redacts_args_and_tracebacks():
    logger, lines = _capture("test.redact", ["s3cr3t-value"])
    logger.info("calling %s", "https://h/token/v1/post?token=s3cr3t-value")
    try:
        raise RuntimeError("failed at https://h/x?token=s3cr3t-value")
    except RuntimeError:
        logger.exception("boom")
    joined = "\n".join(lines)
    assert "s3cr3t-value" not in joined
    assert "boom" in joined and "RuntimeError" in joined


@pytest.mark.asyncio
async def test_httpx_request_log_is_redacted():
    logger, lines = _capture("httpx", ["tok-XYZ"])

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        await client.get("http://resont.test/token/v1/account", params={"token": "tok-XYZ"})
    assert lines, "httpx should have logged the request"
    assert all("tok-XYZ" not in line for line in lines)


def test_record_factory_redacts_for_every_handler():
    from bot.runtime.logsafe import install_redaction

    install_redaction(["factory-secret-1"])
    seen: list[str] = []

    class Raw(logging.Handler):  # no filter: sees records as created
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    logger = logging.getLogger("test.factory")
    handler = Raw()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        logger.info("GET %s", "http://h/bot123456:AAAsecret/getMe?token=factory-secret-1")
        logger.info("plain %s", "factory-secret-1")
    finally:
        logger.removeHandler(handler)
    assert seen and all("factory-secret-1" not in line and "AAAsecret" not in line for line in seen)


def test_percent_encoded_forms_are_redacted():
    text = "GET http://h/file/bot123456%3AAAHsecret/photos/x.jpg token=a%2Fb%3Dc"
    out = redact(text, ["123456:AAHsecret", "a/b=c"])
    assert "AAHsecret" not in out and "a%2Fb%3Dc" not in out


def test_cancelled_jobs_at_shutdown_are_not_logged_as_errors():
    import asyncio

    from bot.runtime.logsafe import DropCancelled

    def record(exc: BaseException) -> logging.LogRecord:
        return logging.LogRecord(
            "apscheduler.executors.default",
            logging.ERROR,
            __file__,
            1,
            "Job raised an exception",
            None,
            (type(exc), exc, None),
        )

    assert not DropCancelled().filter(record(asyncio.CancelledError()))
    assert DropCancelled().filter(record(RuntimeError("real failure")))
