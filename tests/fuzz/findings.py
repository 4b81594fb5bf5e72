"""What the fuzzer reports: one Finding class per kind of mishandled request, so Hypothesis
shrinks one example of each kind it meets."""

import re

from tests.fuzz import model as m

PUSH = m.PUSH_PATH
ADOBE = m.ADOBE_PATH


class Finding(AssertionError):
    """A request the ingress mishandled. One class per kind, so Hypothesis reports and shrinks
    one example of each kind it meets."""

    title = "finding"
    # Reported at the end of the run instead of raised, for findings a replay cannot reproduce.
    deferred = False


class ServerError(Finding):
    title = "5xx answer"


_SERVER_ERRORS: dict[str, type[ServerError]] = {}
_FRAME = re.compile(r'File "[^"]*/((?:ingest|pipeline)/[\w/]+\.py)", line \d+, in (\w+)')
_EXCEPTION = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception))\b", re.MULTILINE)


_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ ", re.MULTILINE)


def server_error(log: str) -> type[ServerError]:
    """A ServerError class per crash site (exception type, deepest frame of our code) of the
    error the ingress logged: Hypothesis then shrinks one example of each distinct 500 instead of
    only the first."""
    start = log.find("ingest.app: unexpected error")
    entry = log[start:] if start >= 0 else ""
    following = _RECORD.search(entry)
    entry = entry[: following.start()] if following else entry
    frames = _FRAME.findall(entry)
    exceptions = _EXCEPTION.findall(entry)
    site = ""
    if frames and exceptions:
        site = f"{exceptions[-1].rsplit('.', 1)[-1]} in {':'.join(frames[-1])}"
    if site not in _SERVER_ERRORS:
        title = f"5xx answer ({site})" if site else ServerError.title
        _SERVER_ERRORS[site] = type("ServerError", (ServerError,), {"title": title})
    return _SERVER_ERRORS[site]


class NoAnswer(Finding):
    title = "no HTTP answer"


class NotJson(Finding):
    title = "answer not JSON (or not the contract's shape)"


class AuthBypass(Finding):
    title = "accepted without a valid credential"


class CrossTenant(Finding):
    title = "accepted for a tenant the credential may not publish for"


class CrossTenantPush(CrossTenant):
    title = "direct push naming another tenant accepted"


class CrossTenantAdobe(CrossTenant):
    title = "Adobe event for a recipient that may not carry its munchkin ID accepted"


class ForeignRecord(CrossTenant):
    title = "record published for a tenant the credential may not publish for"


class Unaccounted(Finding):
    title = "records the answer does not account for"


class ValidRefused(Finding):
    title = "valid delivery not accepted"


class IntrospectionLeak(Finding):
    """Seen only when the ingress has no cached introspection answer for the token, so replaying
    the request (as Hypothesis does to confirm and shrink) does not show it again."""

    title = "token introspected at the IdP of a tenant the delivery does not name"
    deferred = True


class SecretLogged(Finding):
    title = "credential in a log line"


class ProcessDied(Finding):
    title = "ingress process exited"


Found = list[tuple[type[Finding], str]]
