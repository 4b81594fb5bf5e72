"""HTTP-facing errors: handlers raise them, one middleware turns them into JSON bodies.

Every error answers ``{"error": <code>, "detail": <what was wrong and where>}``; ``status`` and
``code`` are class attributes, so callers never keep lists of classes. Upstream behaviour drives
the choice: Adobe I/O Events retries 429 and 5xx (not 505) and drops an event on any other status;
the direct push pauses after repeated failures. So a 4xx is only for a request we will never
accept, and anything that may succeed later is a 503 with ``Retry-After``.

IngestError                      500 internal
├── BadRequest                   400 bad_request
│   ├── MalformedJson            400 malformed_json           (unauthenticated requests only)
│   ├── InvalidChallenge         400 invalid_challenge
│   ├── InvalidDelivery          400 invalid_delivery         (unauthenticated requests only)
│   ├── InvalidEncoding          400 invalid_encoding         (unauthenticated requests only)
│   └── TooDeep                  400 too_deep                 (unauthenticated requests only)
├── Unauthorized                 401 unauthorized
│   ├── MissingCredentials       401 missing_credentials
│   ├── InvalidToken             401 invalid_token
│   ├── MissingSignature         401 missing_signature
│   ├── InvalidSignature         401 invalid_signature
│   └── ClientCertificateRequired 401 client_certificate_required
├── Forbidden                    403 forbidden
│   ├── WrongRecipient           403 wrong_recipient
│   └── TenantMismatch           403 tenant_mismatch
├── NotFound                     404 not_found
├── MethodNotAllowed             405 method_not_allowed
├── RequestTimeout               408 request_timeout
├── PayloadTooLarge              413 payload_too_large
│   └── TooManyEvents            413 too_many_events
├── UnsupportedMediaType         415 unsupported_media_type
│   └── UnsupportedEncoding      415 unsupported_encoding
├── RateLimited                  429 rate_limited             (Retry-After)
└── ServiceUnavailable           503 unavailable  (Retry-After)
    ├── KafkaNotAvailable        503 kafka_unavailable
    ├── SigningKeysUnavailable   503 signing_keys_unavailable
    ├── IdentityProviderUnavailable 503 identity_provider_unavailable
    └── Overloaded               503 overloaded (too many deliveries at once)

UnusableInput (pipeline.errors)  not an HTTP answer: the input is dead-lettered
"""

from pipeline.errors import UnusableInput

__all__ = ["UnusableInput"]  # the one name, shared with the workers

DETAIL_VALUE_MAX = 80


def shorten(value: object, limit: int = DETAIL_VALUE_MAX) -> str:
    """A value for an error detail: repr'd and cut, so bodies never echo large or hostile input."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class IngestError(Exception):
    status = 500
    code = "internal"
    retry_after_s: int | None = None

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class BadRequest(IngestError):
    status = 400
    code = "bad_request"


class MalformedJson(BadRequest):
    code = "malformed_json"


class InvalidChallenge(BadRequest):
    code = "invalid_challenge"


class InvalidDelivery(BadRequest):
    code = "invalid_delivery"


class InvalidEncoding(BadRequest):
    """The body does not decode as its ``Content-Encoding`` says."""

    code = "invalid_encoding"


class TooDeep(BadRequest):
    code = "too_deep"


class Unauthorized(IngestError):
    status = 401
    code = "unauthorized"


class MissingCredentials(Unauthorized):
    code = "missing_credentials"


class InvalidToken(Unauthorized):
    code = "invalid_token"


class MissingSignature(Unauthorized):
    code = "missing_signature"


class InvalidSignature(Unauthorized):
    code = "invalid_signature"


class ClientCertificateRequired(Unauthorized):
    code = "client_certificate_required"


class Forbidden(IngestError):
    status = 403
    code = "forbidden"


class WrongRecipient(Forbidden):
    code = "wrong_recipient"


class TenantMismatch(Forbidden):
    code = "tenant_mismatch"


class NotFound(IngestError):
    status = 404
    code = "not_found"


class MethodNotAllowed(IngestError):
    status = 405
    code = "method_not_allowed"


class RequestTimeout(IngestError):
    status = 408
    code = "request_timeout"


class PayloadTooLarge(IngestError):
    status = 413
    code = "payload_too_large"


class TooManyEvents(PayloadTooLarge):
    code = "too_many_events"


class UnsupportedMediaType(IngestError):
    status = 415
    code = "unsupported_media_type"


class UnsupportedEncoding(UnsupportedMediaType):
    code = "unsupported_encoding"


class RateLimited(IngestError):
    status = 429
    code = "rate_limited"

    def __init__(self, detail: str, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


class ServiceUnavailable(IngestError):
    status = 503
    code = "unavailable"
    retry_after_s = 5


class KafkaNotAvailable(ServiceUnavailable):
    code = "kafka_unavailable"


class SigningKeysUnavailable(ServiceUnavailable):
    code = "signing_keys_unavailable"


class IdentityProviderUnavailable(ServiceUnavailable):
    code = "identity_provider_unavailable"


class Overloaded(ServiceUnavailable):
    code = "overloaded"
    retry_after_s = 1
