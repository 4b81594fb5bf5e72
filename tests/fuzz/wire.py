"""Raw HTTP exchanges over a socket (header bytes no client library would send) and the parsing
of whatever comes back."""

import asyncio
from dataclasses import dataclass, field

REQUEST_TIMEOUT_S = 30.0


@dataclass
class Answer:
    """One HTTP response as read off the socket."""

    status: int | None = None
    version: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: str | None = None  # why no complete response could be read

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


def parse_answer(data: bytes, head_request: bool, eof: bool) -> Answer | None:
    """The final (non-1xx) response in ``data``; None while it is incomplete."""
    while True:
        end = data.find(b"\r\n\r\n")
        if end < 0:
            return None
        lines = data[:end].split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        if len(parts) < 2 or not parts[1].isdigit():
            return Answer(error=f"unparseable status line {lines[0][:80]!r}")
        status = int(parts[1])
        rest = data[end + 4 :]
        if 100 <= status < 200:
            data = rest
            continue
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
        answer = Answer(status, parts[0], headers)
        if head_request or status in (204, 304):
            return answer
        if "content-length" in headers:
            length = int(headers["content-length"])
            if len(rest) < length:
                return None
            answer.body = rest[:length]
            return answer
        if "chunked" in headers.get("transfer-encoding", ""):
            body = _dechunk(rest)
            if body is None:
                return None
            answer.body = body
            return answer
        if not eof:
            return None  # delimited by the connection closing
        answer.body = rest
        return answer


def _dechunk(data: bytes) -> bytes | None:
    out = b""
    while True:
        line_end = data.find(b"\r\n")
        if line_end < 0:
            return None
        size = int(data[:line_end].split(b";")[0], 16)
        if size == 0:
            return out
        chunk = data[line_end + 2 : line_end + 2 + size]
        if len(chunk) < size:
            return None
        out += chunk
        data = data[line_end + 4 + size :]


async def exchange(port: int, raw: bytes, head_request: bool) -> Answer:
    """Write the request, read the response. The write runs beside the read: the ingress may
    answer (401, 413) before it has read a large body."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError as exc:
        return Answer(error=f"connect: {exc}")

    async def write() -> None:
        try:
            writer.write(raw)
            await writer.drain()
        except OSError:
            pass  # answered and closed before the whole request was read: the read decides

    sending = asyncio.ensure_future(write())
    data = b""
    error = None
    answer: Answer | None = None
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT_S):
            while (answer := parse_answer(data, head_request, eof=False)) is None:
                chunk = await reader.read(65536)
                if not chunk:
                    break
                data += chunk
    except TimeoutError:
        error = "no complete answer within the timeout"
    except OSError as exc:
        error = f"read: {type(exc).__name__}"
    finally:
        sending.cancel()
        writer.close()
    if answer is not None:
        return answer
    answer = parse_answer(data, head_request, eof=True)
    if answer is not None:
        return answer
    return Answer(error=error or ("closed without an answer" if not data else "incomplete answer"))
