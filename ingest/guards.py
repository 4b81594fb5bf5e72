"""What a request must show before its content is looked at: its media type and, where Adobe's
mutual TLS is required, Adobe's client certificate."""

from aiohttp import web

from ingest import keys
from ingest.errors import ClientCertificateRequired, UnsupportedMediaType, shorten


def require_json(request: web.Request) -> None:
    # The direct push's content type is UNCONFIRMED: a missing header is taken as JSON.
    if "Content-Type" not in request.headers:
        return
    ctype = request.content_type
    if ctype != "application/json" and not ctype.endswith("+json"):
        raise UnsupportedMediaType(f"Content-Type must be application/json, got {shorten(ctype)}")


def require_client_certificate(request: web.Request) -> None:
    expected = request.app[keys.SETTINGS].adobe_io.client_cert_cn
    if expected is None:
        return
    transport = request.transport
    cert = transport.get_extra_info("peercert") if transport else None
    names = [v for rdn in (cert or {}).get("subject", ()) for k, v in rdn if k == "commonName"]
    if expected not in names:
        raise ClientCertificateRequired("a client certificate of Adobe I/O Events is required")
