"""The one error tree: every failure maps to an HTTP status, a GraphQL code and an event code.

Provider and library errors are translated into these once, at the boundary where they occur
(the adapter, the request parser), with ``raise ... from``; nothing matches on message text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, TypeVar

E = TypeVar("E", bound="GatewayError")


class GatewayError(Exception):
    """Base of every error a client can see."""

    code: ClassVar[str] = "internal_error"
    http_status: ClassVar[int] = 500
    retryable: ClassVar[bool] = False

    def __init__(
        self, message: str, *, details: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers or {}

    @property
    def graphql_code(self) -> str:
        """GraphQL ``extensions.code``: the event code in upper case."""
        return self.code.upper()

    def to_dict(self) -> dict[str, Any]:
        """The body clients receive, under ``{"error": ...}`` or as an ``error`` event."""
        body: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "retryable": self.retryable,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


# --- the client's request ---------------------------------------------------------------------


class InvalidRequest(GatewayError):
    """The request is malformed or breaks a validation rule."""

    code = "invalid_request"
    http_status = 422


class MalformedBody(InvalidRequest):
    """The body is not parseable JSON."""

    code = "malformed_body"
    http_status = 400


class RequestTooLarge(InvalidRequest):
    """The body is larger than the configured limit."""

    code = "request_too_large"
    http_status = 413


class QueryInvalid(InvalidRequest):
    """A GraphQL document that does not validate: an unknown field, a wrong variable type..."""

    code = "graphql_validation_failed"
    http_status = 400


class QuerySyntaxError(QueryInvalid):
    """A GraphQL document that does not parse."""

    code = "graphql_parse_failed"


class QueryTooComplex(QueryInvalid):
    """A GraphQL operation nested deeper, or costing more, than the server allows."""

    code = "query_too_complex"


class ContentRefused(InvalidRequest):
    """Content the gateway will not carry as given (the subclasses say why)."""

    http_status = 400


class InvalidToolSchema(ContentRefused):
    """A tool whose parameters are not a JSON Schema of an object, or a choice of no tool."""

    code = "invalid_tool_schema"


class ToolCallUnmatched(ContentRefused):
    """A ``tool`` message answering a call no earlier assistant message made."""

    code = "tool_call_unmatched"


class AttachmentTooLarge(ContentRefused):
    """An image or file larger than the gateway carries."""

    code = "attachment_too_large"


class TooManyAttachments(ContentRefused):
    """More images or files in one request than the gateway carries."""

    code = "too_many_attachments"


class InvalidDataUrl(ContentRefused):
    """A ``data:`` URL that is not base64 of an accepted media type."""

    code = "invalid_data_url"


class UnsupportedUrl(ContentRefused):
    """An image or file URL of a scheme the gateway does not pass on (only http(s), data:)."""

    code = "unsupported_url"


class CapabilityUnsupported(ContentRefused):
    """No step of the model's route can take what the request needs (tools, images...)."""

    code = "capability_unsupported"


class Unauthorized(GatewayError):
    """No API key, or one that is unknown or revoked."""

    code = "unauthorized"
    http_status = 401


class Forbidden(GatewayError):
    """The key is valid but may not do this (an admin route, a model it is not allowed)."""

    code = "forbidden"
    http_status = 403


class BudgetExceeded(GatewayError):
    """The API key has spent its budget for the period."""

    code = "budget_exceeded"
    http_status = 402


class RateLimited(GatewayError):
    """A limit of the API key is reached; ``Retry-After`` says when to come back."""

    code = "rate_limited"
    http_status = 429
    retryable = True


class NotFound(GatewayError):
    """The thing asked for does not exist (or is not the caller's to see)."""

    code = "not_found"
    http_status = 404


class JobNotFound(NotFound):
    code = "job_not_found"


class ModelNotFound(NotFound):
    code = "model_not_found"


class ProviderNotFound(NotFound):
    code = "provider_not_found"


class EventsExpired(NotFound):
    """The job's events are no longer kept (its result may still be)."""

    code = "events_expired"
    http_status = 410


class Conflict(GatewayError):
    """The request conflicts with the current state of the resource."""

    code = "conflict"
    http_status = 409


class JobFinished(Conflict):
    """The job has already ended, so it cannot be cancelled."""

    code = "job_finished"


class NotResumable(Conflict):
    """A reconnect (Last-Event-ID) to a stream whose URL names no job: nothing to resume, and
    starting another job would run (and bill) the completion again."""

    code = "not_resumable"


class IdempotencyConflict(Conflict):
    """An ``Idempotency-Key`` used before with a different request body."""

    code = "idempotency_conflict"


class IdempotencyInProgress(Conflict):
    """The first request with this ``Idempotency-Key`` is still being answered."""

    code = "idempotency_in_progress"
    retryable = True


# --- the gateway itself -----------------------------------------------------------------------


class ServiceUnavailable(GatewayError):
    """A part the gateway depends on (Redis, the broker) is not reachable."""

    code = "service_unavailable"
    http_status = 503
    retryable = True


class NotConfigured(GatewayError):
    """A feature this gateway was not configured for (stream tokens without a secret)."""

    code = "not_configured"
    http_status = 503


# --- how a job ends when it does not succeed -----------------------------------------------------


class JobCancelled(GatewayError):
    """The job was cancelled by its owner or because its stream reader left."""

    code = "cancelled"
    http_status = 409


class DeadlineExceeded(GatewayError):
    """The job did not finish within its deadline."""

    code = "deadline_exceeded"
    http_status = 504
    retryable = True


class WorkerLost(GatewayError):
    """The worker running the job died after tokens had been delivered."""

    code = "worker_lost"
    http_status = 502
    retryable = True


# --- provider failures, translated once by the adapter --------------------------------------------


class ProviderError(GatewayError):
    """An upstream provider failed."""

    code = "provider_error"
    http_status = 502
    retryable = True

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        upstream_status: int | None = None,
        retry_after_s: float | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(message, details=details)
        self.provider = provider
        self.upstream_status = upstream_status
        self.retry_after_s = retry_after_s


class ProviderUnavailable(ProviderError):
    """Connect failure, 5xx, 529 or 429: another attempt or provider may succeed."""

    code = "provider_unavailable"


class ProviderTimeout(ProviderError):
    """Connect, first-token, idle or total time budget ran out."""

    code = "provider_timeout"
    http_status = 504


class ProviderRejected(ProviderError):
    """The provider refused the request (400/401/403/404/422): retrying will not help."""

    code = "provider_rejected"
    retryable = False


class ProviderQuotaExhausted(ProviderError):
    """The provider account cannot pay (402, OpenAI's 429 insufficient_quota): another provider
    may serve the request, but retrying this one will not help."""

    code = "provider_quota_exhausted"


class ContextLengthExceeded(ProviderRejected):
    """The prompt does not fit the model's context window."""

    code = "context_length_exceeded"
    http_status = 400


class AllProvidersFailed(ProviderError):
    """Every step of the route failed or was skipped; ``details.attempts`` names each."""

    code = "all_providers_failed"


class StreamInterrupted(ProviderError):
    """The provider's stream broke: a dropped connection, a malformed frame or no terminator."""

    code = "stream_interrupted"


# --- batches and files ----------------------------------------------------------------------------


class FileTooLarge(RequestTooLarge):
    """An uploaded file is larger than ``batch.max_file_bytes``."""

    code = "file_too_large"


class FileNotFound(NotFound):
    code = "file_not_found"


class BatchNotFound(NotFound):
    code = "batch_not_found"


class BatchFinished(Conflict):
    """The batch has already ended (completed, failed, expired, cancelled): nothing to cancel."""

    code = "batch_finished"


def error_for_code(code: str, message: str, *, details: Any = None) -> GatewayError:
    """The error whose stable ``code`` this is (a GatewayError for a code this release does not
    know), to answer a waiting request with an error a job ended with."""
    return error_class_for(code, GatewayError)(message, details=details)


def error_class_for(code: str, default: type[E]) -> type[E]:
    """The subclass of ``default`` whose stable code this is, else ``default`` (validation
    errors carry the code as their type)."""
    return next(
        (c for c in _all_error_classes() if c.code == code and issubclass(c, default)), default
    )


def _all_error_classes() -> list[type[GatewayError]]:
    found: list[type[GatewayError]] = []
    pending: list[type[GatewayError]] = [GatewayError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def most_specific(errors: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """Of a validation's errors at the first one's field, the deepest: a union reports each
    branch it tried, and the deepest is the branch the client meant (a part's bad ``url``)."""
    field = tuple(errors[0]["loc"])[:2]
    same_field = [e for e in errors if tuple(e["loc"])[:2] == field]
    return max(same_field, key=lambda e: len(e["loc"]))
