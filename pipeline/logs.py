"""Logging for every process: one setup, and a filter that keeps credentials out of log lines.

Our own code never logs a secret, but libraries log what they are given: aiohttp's HTTP parser,
refusing a header with a bare CR or a NUL, logs the raw request bytes around the fault in its
exception at ERROR, as a bytes literal (``b'Authorization: Bearer <token>'``, or a bare
continuation line holding the rest of a token split by an injected CRLF). ``Redactor`` rewrites
such records before any handler sees them: every bytes literal (we never log raw request bytes on
purpose), header values of ``Authorization``, cookies, Adobe's signature headers and API keys,
``Bearer``/``Basic`` credentials, and ``token=``/``client_secret=``-style form and query fields.
It sits on the loggers of the libraries that log requests (a filter on a logger applies only to
records logged on that logger) and on every handler ``configure_logging`` installs.
"""

import logging
import re
import sys

REDACTED = "[redacted]"
_BYTES_LITERAL = re.compile(r"\bb'(?:[^'\\\n]|\\.)*'" + r'|\bb"(?:[^"\\\n]|\\.)*"')
_HEADER = re.compile(
    r"(?i)\b(authorization|proxy-authorization|cookie|set-cookie|x-api-key|"
    r"x-adobe-signature|x-adobe-digital-signature-\d)(\s*[:=]\s*)([^\r\n'\"]*)"
)
_SCHEME = re.compile(r"(?i)\b(bearer|basic)(\s+)[^\s'\",;]+")
_FIELD = re.compile(
    r"(?i)\b(access_token|refresh_token|id_token|client_secret|password|token)=([^&\s'\"]+)"
)
# Loggers of libraries that log request lines, headers or bodies they were handed.
LIBRARY_LOGGERS = (
    "aiohttp.access",
    "aiohttp.client",
    "aiohttp.internal",
    "aiohttp.server",
    "aiohttp.web",
    "aiohttp.websocket",
    "aiokafka",
)


def redact(text: str) -> str:
    text = _BYTES_LITERAL.sub(f"b'{REDACTED}'", text)
    text = _HEADER.sub(lambda m: m.group(1) + m.group(2) + REDACTED, text)
    text = _SCHEME.sub(lambda m: m.group(1) + m.group(2) + REDACTED, text)
    return _FIELD.sub(lambda m: m.group(1) + "=" + REDACTED, text)


class Redactor(logging.Filter):
    """Rewrites a record's message and exception text with credentials redacted; keeps it."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "redacted", False):
            return True
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed call: keep what was given, redacted
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = redact(message), None
        if record.exc_info:
            # The formatted traceback replaces exc_info: a handler cannot re-render it unredacted.
            record.exc_text = redact(self._formatter.formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        record.redacted = True
        return True


_REDACTOR = Redactor()


def install_redaction() -> None:
    """Put the filter on the library loggers (idempotent): apps call it when they are built, so
    that tests' log capture sees what production logs would."""
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        if _REDACTOR not in logger.filters:
            logger.addFilter(_REDACTOR)


def configure_logging(level: str, tag: str = "") -> None:
    """The processes' one logging setup: a line per record on stderr, credentials redacted;
    ``tag`` names the process on every line (one of several sharing a log)."""
    handler = logging.StreamHandler(sys.stderr)
    name = f"[{tag}] %(name)s" if tag else "%(name)s"
    handler.setFormatter(logging.Formatter(f"%(asctime)s %(levelname)-7s {name}: %(message)s"))
    handler.addFilter(_REDACTOR)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, logging.getLevelName(level)))
    install_redaction()
