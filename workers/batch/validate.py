"""The validation pass: every line of the input file checked before any request runs.

A batch with any refused line fails as a whole (OpenAI's rule), with up to ``MAX_REPORTED``
errors each naming its line; the requests are then counted for ``request_counts.total``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from shared.apikeys import KeyRecord
from shared.batch.lines import LineRefused, is_blank, parse_line
from shared.batch.models import Batch, LineError
from shared.errors import Forbidden, GatewayError
from shared.routing import plan_route
from shared.settings import Settings
from shared.storage import lines_of
from workers.batch.context import BatchContext

MAX_REPORTED = 100
YIELD_EVERY_LINES = 200


@dataclass(slots=True)
class Validation:
    total: int = 0
    errors: list[LineError] = field(default_factory=list)


async def validate(ctx: BatchContext, batch: Batch) -> Validation:
    """Check every line: JSON, fields, custom_id unique, url and method, the request itself,
    its model (served here, and allowed for the key), and the number of requests."""
    spec = batch.spec
    key = await ctx.api_keys.get(spec.owner)
    result = Validation()
    seen: set[str] = set()
    limit = ctx.settings.batch.max_requests_per_batch
    try:
        async for number, raw in lines_of(ctx.storage.open(spec.input_file_id)):
            if number % YIELD_EVERY_LINES == 0:
                await asyncio.sleep(0)  # the loop also runs other batches' requests
            if is_blank(raw):
                continue
            result.total += 1
            if result.total > limit:
                result.errors.append(
                    LineError(
                        code="too_many_requests",
                        message=f"a batch takes at most {limit} requests",
                        line=number,
                    )
                )
                break
            error = check_line(ctx.settings, key, number, raw, seen, spec.endpoint)
            if error is not None:
                result.errors.append(error)
                if len(result.errors) >= MAX_REPORTED:
                    break
    except FileNotFoundError:
        result.errors.append(
            LineError(code="file_not_found", message=f"input file {spec.input_file_id} is gone")
        )
    if result.total == 0 and not result.errors:
        result.errors.append(LineError(code="empty_file", message="the input file has no lines"))
    return result


def check_line(
    settings: Settings,
    key: KeyRecord | None,
    number: int,
    raw: bytes,
    seen: set[str],
    endpoint: str,
) -> LineError | None:
    """Why this line cannot run, or None."""
    try:
        item = parse_line(number, raw, endpoint)
    except LineRefused as refused:
        return refused.error
    if item.custom_id in seen:
        return LineError(
            code="duplicate_custom_id",
            message=f"custom_id {item.custom_id!r} is used by an earlier line",
            param="custom_id",
            line=number,
        )
    seen.add(item.custom_id)
    try:
        model, _ = plan_route(settings, item.request)
        allowed = key.allowed_models if key is not None else None
        for name in [model, *(item.request.models or [])]:
            if allowed is not None and name not in allowed:
                raise Forbidden(f"this API key may not use model {name!r}")
    except GatewayError as exc:
        return LineError(code=exc.code, message=exc.message, param="body.model", line=number)
    return None
