"""The redaction filter: credentials never reach a log line, whoever logs them."""

import logging

import pytest

from pipeline.logs import REDACTED, Redactor, install_redaction, redact

SECRET = "s3cr3t-T0ken_value.0123456789"


@pytest.mark.parametrize(
    "line",
    [
        f"b'Authorization: Bearer {SECRET}'",
        f"authorization:{SECRET}",
        f"Proxy-Authorization: Basic {SECRET}",
        f"x-adobe-digital-signature-1: {SECRET}",
        f"X-Adobe-Signature={SECRET}",
        f"Cookie: session={SECRET}",
        f"x-api-key: {SECRET}",
        f"sent Bearer {SECRET} to the IdP",
        f"grant_type=client_credentials&client_secret={SECRET}&scope=x",
        f"GET /oauth?access_token={SECRET}",
        f"form token={SECRET}&token_type_hint=access_token",
        # the rest of a token split off by an injected CRLF: a line that names no header
        f"Unexpected whitespace after header value:\n\n    b' {SECRET}'\n      ^",
        f'Invalid header value char: b"x-custom: {SECRET}"',
    ],
)
def test_credentials_are_redacted(line: str) -> None:
    redacted = redact(line)
    assert SECRET not in redacted
    assert REDACTED in redacted


def test_ordinary_lines_are_kept() -> None:
    line = "dead-lettered an event of 123-ABC-456: invalid_time ('activityDate' is not a date-time)"
    assert redact(line) == line


def test_a_record_and_its_traceback_are_redacted_before_any_handler() -> None:
    logger = logging.getLogger("aiohttp.server")
    install_redaction()
    install_redaction()  # idempotent
    assert sum(isinstance(f, Redactor) for f in logger.filters) == 1
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    handler = Keep()
    logger.addHandler(handler)
    try:
        try:
            raise ValueError(f"Invalid header value char: b'Authorization: Bearer {SECRET}'")
        except ValueError:
            logger.exception("Error handling request from %s (%s)", "127.0.0.1", f"Bearer {SECRET}")
    finally:
        logger.removeHandler(handler)
    [record] = seen
    text = logging.Formatter().format(record)
    assert SECRET not in text
    assert "Invalid header value char" in text  # the traceback is kept, the credential is not
    assert record.exc_info is None  # nothing left for a handler to render unredacted


def test_a_malformed_logging_call_is_still_redacted() -> None:
    # "%d" of a string raises inside getMessage: the filter keeps what was given, redacted.
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%d Bearer " + SECRET, ("x",), None)
    Redactor().filter(record)
    message = record.getMessage()
    assert "%d" in message
    assert SECRET not in message
