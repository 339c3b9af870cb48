"""Embeddings (`POST /v1/embeddings`, wire-tools §7) and the 404s of providers without them.

Vectors are derived from the model and the input (text, or token ids), so identical inputs give
identical vectors; a shorter `dimensions` is the full vector's prefix renormalised, as
Matryoshka models behave. Values are exact float32 numbers, so the float and base64 encodings
(little-endian float32, what openai-python asks for by default) decode to the same list.
"""

from __future__ import annotations

import base64
import hashlib
import math
import struct
import time
import uuid
from typing import Any

from starlette.requests import Request
from starlette.types import Receive, Send

from .engine import Exchange
from .prompt import words
from .scenario import Scenario, ScenarioError, apply, find_directive
from .serving import FakeState, parse_body, send_error, send_problem
from .wire import ERR_AUTH, ERR_INVALID, ERR_STATUS, Problem, WireFormat, request_id_like

_NATIVE_DIMENSIONS = {
    "text-embedding-3-large": 3072,
    "text-embedding-3-small": 1536,
    "text-embedding-ada-002": 1536,
}
DEFAULT_DIMENSIONS = 384
_INVALID_INPUT = (
    "'$.input' is invalid. Please check the API reference: "
    "https://platform.openai.com/docs/api-reference."
)


def native_dimensions(model: str) -> int:
    return _NATIVE_DIMENSIONS.get(model, DEFAULT_DIMENSIONS)


def supports_dimensions(model: str) -> bool:
    """Matryoshka models: text-embedding-3-*, or any model named like one (mrl, matryoshka)."""
    lowered = model.lower()
    return lowered.startswith("text-embedding-3") or "mrl" in lowered or "matryoshka" in lowered


def vector(model: str, item: str | list[int], dimensions: int) -> list[float]:
    seed = f"{model}\0" + (item if isinstance(item, str) else "tokens:" + ",".join(map(str, item)))
    full = native_dimensions(model)
    raw = hashlib.shake_256(seed.encode()).digest(4 * full)
    values = [u / 2**31 - 1.0 for u in struct.unpack(f"<{full}I", raw)][:dimensions]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    packed = struct.pack(f"<{dimensions}f", *(v / norm for v in values))
    return list(struct.unpack(f"<{dimensions}f", packed))


def _inputs(value: object) -> list[str | list[int]] | None:
    """The input as a list of items, or None when it is not one of the accepted forms."""
    if isinstance(value, str):
        return [value] if value else None
    if not isinstance(value, list) or not value or len(value) > 2048:
        return None
    if all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return [list(value)]
    items: list[str | list[int]] = []
    for v in value:
        if isinstance(v, str) and v:
            items.append(v)
        elif isinstance(v, list) and v and all(isinstance(t, int) for t in v):
            items.append(list(v))
        else:
            return None
    return items


def embedding_problem(body: dict[str, Any], sc: Scenario) -> Problem | None:
    model = body.get("model")
    if not isinstance(model, str):
        return Problem("you must provide a model parameter")
    if "input" not in body:
        return Problem(
            "Missing required parameter: 'input'.", "input", "missing_required_parameter"
        )
    if _inputs(body["input"]) is None:
        return Problem(_INVALID_INPUT)
    encoding = body.get("encoding_format", "float")
    if encoding not in ("float", "base64"):
        message = f"Invalid value: '{encoding}'. Supported values are: 'float' and 'base64'."
        return Problem(message, "encoding_format", "invalid_value")
    dimensions = body.get("dimensions")
    if dimensions is None:
        return None
    if not isinstance(dimensions, int) or isinstance(dimensions, bool) or dimensions < 1:
        return Problem(
            f"Invalid value for 'dimensions' = {dimensions}. Must be a positive integer.",
            "dimensions",
            "invalid_value",
        )
    if not supports_dimensions(model):
        if sc.error_style != "openai":  # vLLM's words for a non-Matryoshka model
            return Problem(
                f'Model "{model}" does not support matryoshka representation, changing output '
                "dimensions will lead to poor results."
            )
        return Problem("This model does not support specifying dimensions.", "dimensions")
    if dimensions > native_dimensions(model):
        return Problem(
            f"Invalid value for 'dimensions' = {dimensions}. Must be less than or equal to "
            f"{native_dimensions(model)}.",
            "dimensions",
            "invalid_value",
        )
    return None


def embedding_answer(fmt: WireFormat, body: dict[str, Any], sc: Scenario) -> dict[str, Any]:
    model: str = body["model"]
    items = _inputs(body["input"]) or []
    dimensions = body.get("dimensions") or native_dimensions(model)
    base64_out = body.get("encoding_format") == "base64"
    data: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        values = vector(model, item, dimensions)
        encoded: object = values
        if base64_out:
            encoded = base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    tokens = sum(max(1, words(i)) if isinstance(i, str) else len(i) for i in items)
    answer: dict[str, Any] = {"object": "list", "data": [] if sc.empty_data else data}
    answer["model"] = model
    usage: dict[str, Any] = {"prompt_tokens": tokens, "total_tokens": tokens}
    if fmt.name == "openrouter":
        usage |= {"cost": round(tokens * 2e-8, 12), "is_byok": False}
    if sc.error_style != "openai":  # vLLM adds an id, a timestamp and more usage fields
        answer = {"id": f"embd-{uuid.uuid4().hex}", "created": int(time.time())} | answer
        usage |= {"completion_tokens": 0, "prompt_tokens_details": None}
    answer["usage"] = usage
    return answer


def _directive_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return " ".join(v for v in value if isinstance(v, str))
    return ""


async def handle_embeddings(
    state: FakeState, fmt: WireFormat, request: Request, raw: bytes, receive: Receive, send: Send
) -> None:
    record = state.new_record(fmt, request)
    body, body_error = parse_body(raw, record)
    model = body.get("model") if isinstance(body.get("model"), str) else fmt.default_model
    record["model"] = body.get("model") if isinstance(body.get("model"), str) else None
    base = state.base_scenario()
    sc, scenario_error = base, None
    try:  # the directive rides in the input text
        overrides = find_directive(_directive_text(body.get("input")), record["model"])
        if overrides is not None:
            sc = apply(base, overrides)
            record["scenario"] = overrides
    except ScenarioError as exc:
        scenario_error = f"fake provider: {exc}"
    record["tag"] = sc.tag
    async with Exchange(receive, send, record) as ex:
        key = state.config.require_key
        if key is not None and not fmt.auth_ok(request.headers, key):
            present = fmt.auth_present(request.headers)
            await send_error(ex, fmt, 401, ERR_AUTH, base, str(model), auth_present=present)
            return
        if body_error or scenario_error:
            message = body_error or scenario_error
            await send_error(ex, fmt, 400, ERR_INVALID, base, str(model), message=message)
            return
        problem = embedding_problem(body, sc)
        if problem is not None:
            await send_problem(ex, fmt, problem, sc, str(model))
            return
        if await ex.sleep(sc.first_token_delay_ms / 1000):
            ex.finish("client_closed")
            return
        if sc.status is not None:
            await send_error(ex, fmt, sc.status, ERR_STATUS, sc, str(model))
            return
        await ex.send_json(200, embedding_answer(fmt, body, sc), fmt.response_headers(None))
        ex.finish("completed")


async def handle_not_found(
    state: FakeState, fmt: WireFormat, request: Request, receive: Receive, send: Send
) -> None:
    """DeepSeek's and Anthropic's answer to a path they do not serve (e.g. /embeddings)."""
    record = state.new_record(fmt, request)
    async with Exchange(receive, send, record) as ex:
        body: dict[str, Any]
        if fmt.name == "deepseek":
            body = {"error_msg": "Not Found. Please check the configuration."}
            headers = fmt.response_headers(None)
        else:
            headers = fmt.response_headers(None)
            body = {
                "type": "error",
                "error": {"type": "not_found_error", "message": "Not Found"},
                "request_id": headers.get("request-id", request_id_like()),
            }
        await ex.send_json(404, body, headers)
        ex.finish("error_status")
