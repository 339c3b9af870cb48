"""The lines of the output and error files, built as each request ends.

A record is stored as ``o`` + output line or ``e`` + error line, so finalizing only sorts and
concatenates. Every input line ends up in exactly one of the two files, joined on custom_id.
"""

from __future__ import annotations

from typing import Any

import orjson

from shared.batch.lines import RequestLine
from shared.batch.models import request_line_id
from shared.embeddings import EmbeddingRequest
from shared.errors import GatewayError, JobCancelled
from shared.jobs import Answer, Job, JobStatus
from shared.openai_format import chat_completion, openai_error_body, openai_status
from shared.openai_format.embeddings import embeddings_response

OUTPUT, ERROR = b"o", b"e"


def succeeded(batch_id: str, item: RequestLine, job: Job) -> bytes:
    answer = Answer.of_job(job)
    body = (
        embeddings_response(answer, item.encoding)
        if isinstance(item.request, EmbeddingRequest)
        else chat_completion(answer)
    )
    return OUTPUT + orjson.dumps(
        {
            "id": request_line_id(batch_id, item.line),
            "custom_id": item.custom_id,
            "response": {"status_code": 200, "request_id": job.id, "body": body},
            "error": None,
        }
    )


def failed(batch_id: str, line: int, custom_id: str, job: Job) -> bytes:
    """A request that ran and failed: the HTTP answer it would have had, and its error."""
    error = job.error.error() if job.error is not None else JobCancelled("cancelled")
    return ERROR + orjson.dumps(
        {
            "id": request_line_id(batch_id, line),
            "custom_id": custom_id,
            "response": {
                "status_code": openai_status(error),
                "request_id": job.id,
                "body": openai_error_body(error),
            },
            "error": {"code": error.code, "message": error.message},
        }
    )


def not_run(batch_id: str, line: int, custom_id: str | None, code: str, message: str) -> bytes:
    """A request that never produced an answer (the batch was cancelled or expired first, or
    the key's budget was spent)."""
    return ERROR + orjson.dumps(
        {
            "id": request_line_id(batch_id, line),
            "custom_id": custom_id,
            "response": None,
            "error": {"code": code, "message": message},
        }
    )


def refused(batch_id: str, line: int, custom_id: str | None, error: GatewayError) -> bytes:
    return not_run(batch_id, line, custom_id, error.code, error.message)


def of_job(batch_id: str, item: RequestLine, job: Job) -> bytes:
    if job.status is JobStatus.SUCCEEDED:
        return succeeded(batch_id, item, job)
    return failed(batch_id, item.line, item.custom_id, job)


def usage_of(job: Job) -> dict[str, int]:
    """The job's tokens under the batch's usage names."""
    if job.usage is None:
        return {}
    u = job.usage
    return {
        "input_tokens": u.prompt_tokens,
        "cached_tokens": u.cached_tokens,
        "output_tokens": u.completion_tokens,
        "reasoning_tokens": u.reasoning_tokens,
    }


def is_output(record: bytes) -> bool:
    return record[:1] == OUTPUT


def line_of(record: bytes) -> bytes:
    """The file line a record holds."""
    return record[1:] + b"\n"


def parsed(record: bytes) -> dict[str, Any]:
    value: dict[str, Any] = orjson.loads(record[1:])
    return value
