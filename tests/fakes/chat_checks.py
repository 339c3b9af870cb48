"""Request checks in the OpenAI Chat Completions family, as each provider words them.

OpenAI answers with `param` and `code`; DeepSeek's answers come from a strict deserializer
(``Failed to deserialize the JSON body ... unknown variant `image_url`, expected `text` ``) or
carry their own wording; OpenRouter relays OpenAI-style text in its own envelope (the format's
error body puts it there). Texts marked best-effort were not found in captured traffic.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import orjson

from .media import IMAGE_TYPES, decode_b64, parse_data_url
from .schema_gen import schema_problem, strict_problem
from .wire import Problem

Dialect = Literal["openai", "deepseek", "openrouter"]
_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")
_USER_PARTS = ("text", "image_url", "input_audio", "file")
_DETAILS = ("auto", "low", "high")
_AUDIO_FORMATS = ("wav", "mp3")


def serde(body: dict[str, Any], detail: str) -> Problem:
    column = len(orjson.dumps(body))
    return Problem(
        f"Failed to deserialize the JSON body into the target type: {detail} "
        f"at line 1 column {column}"
    )


def invalid_value(value: object, allowed: tuple[str, ...], param: str) -> Problem:
    quoted = [f"'{a}'" for a in allowed]
    if len(quoted) == 1:
        listed = quoted[0]
    elif len(quoted) == 2:
        listed = f"{quoted[0]} and {quoted[1]}"
    else:
        listed = ", ".join(quoted[:-1]) + f", and {quoted[-1]}"
    return Problem(
        f"Invalid value: '{value}'. Supported values are: {listed}.", param, "invalid_value"
    )


def missing(param: str) -> Problem:
    return Problem(f"Missing required parameter: '{param}'.", param, "missing_required_parameter")


def schema_issue(what: str, schema: object, strict: bool) -> str | None:
    if not isinstance(schema, dict) or schema.get("type", "object") != "object":
        kind = schema.get("type") if isinstance(schema, dict) else type(schema).__name__
        return (
            f"Invalid schema for {what}: schema must be a JSON Schema of 'type: \"object\"', "
            f"got 'type: \"{kind}\"'."
        )
    found = schema_problem(schema) or (strict_problem(schema) if strict else None)
    return f"Invalid schema for {what}: {found}" if found else None


def check_tools(body: dict[str, Any], dialect: Dialect, *, beta: bool = False) -> Problem | None:
    tools = body.get("tools")
    if tools is None:
        return None
    if not isinstance(tools, list):
        if dialect == "deepseek":
            return serde(body, "tools: invalid type: expected a sequence")
        return Problem(
            f"Invalid type for 'tools': expected an array, but got {type(tools).__name__} instead.",
            "tools",
            "invalid_type",
        )
    strict_flags: list[bool] = []
    for i, tool in enumerate(tools):
        where = f"tools[{i}]"
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind != "function":
            if dialect == "deepseek":
                return serde(body, f"{where}.type: unknown variant `{kind}`, expected `function`")
            if kind is None:
                return missing(f"{where}.type")
            if not (dialect == "openai" and kind == "custom"):
                return invalid_value(kind, ("function", "custom"), f"{where}.type")
            continue
        function = tool.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        if not isinstance(name, str):
            if dialect == "deepseek":
                return serde(body, f"{where}.function: missing field `name`")
            return missing(f"{where}.function.name")
        if len(name) > 64:
            return Problem(
                f"Invalid '{where}.function.name': string too long. Expected a string with "
                f"maximum length 64, but got a string with length {len(name)} instead.",
                f"{where}.function.name",
                "string_above_max_length",
            )
        if not _NAME.match(name):
            return Problem(
                f"Invalid '{where}.function.name': string does not match pattern. Expected a "
                "string that matches the pattern '^[a-zA-Z0-9_-]+$'.",
                f"{where}.function.name",
                "invalid_value",
            )
        assert isinstance(function, dict)
        strict = function.get("strict") is True and (dialect != "deepseek" or beta)
        strict_flags.append(function.get("strict") is True)
        if "parameters" in function:
            issue = schema_issue(f"function '{name}'", function["parameters"], strict)
            if issue:
                return Problem(issue, f"{where}.function.parameters", "invalid_function_parameters")
    if dialect == "deepseek" and beta and any(strict_flags) and not all(strict_flags):
        # best-effort text: DeepSeek documents the rule, not its error
        return Problem("In strict mode, all functions must have strict set to true")
    return None


def check_tool_choice(body: dict[str, Any], dialect: Dialect, thinking: bool) -> Problem | None:
    choice = body.get("tool_choice")
    forced = choice == "required" or (isinstance(choice, dict) and choice.get("type") == "function")
    if dialect == "deepseek" and thinking and forced:
        # DeepSeek's body here has no param or code (deepseek-ai/DeepSeek-V3#1376)
        message = "Thinking mode does not support this tool_choice"
        return Problem(
            message, body={"error": {"message": message, "type": "invalid_request_error"}}
        )
    return None


def check_part(
    body: dict[str, Any], dialect: Dialect, role: str, i: int, j: int, part: object
) -> Problem | None:
    where = f"messages[{i}].content[{j}]"
    kind = part.get("type") if isinstance(part, dict) else None
    if kind == "text":
        return None
    if dialect == "deepseek":
        return serde(body, f"messages[{i}]: unknown variant `{kind}`, expected `text`")
    if role == "tool":
        return invalid_value(kind, ("text",), f"{where}.type")
    if role == "assistant":
        return (
            None if kind == "refusal" else invalid_value(kind, ("text", "refusal"), f"{where}.type")
        )
    if kind not in _USER_PARTS:
        allowed = ("text", "image_url", "input_audio", "refusal", "audio", "file")
        return invalid_value(kind, allowed, f"{where}.type")
    assert isinstance(part, dict)
    if kind == "image_url":
        return _check_image(part.get("image_url"), f"{where}.image_url")
    if kind == "input_audio":
        audio = part.get("input_audio")
        if not isinstance(audio, dict) or not isinstance(audio.get("data"), str):
            return missing(f"{where}.input_audio.data")
        if audio.get("format") not in _AUDIO_FORMATS:
            return invalid_value(audio.get("format"), _AUDIO_FORMATS, f"{where}.input_audio.format")
        return None
    return _check_file(part.get("file"), f"{where}.file", dialect)


def _check_image(image: object, where: str) -> Problem | None:
    if not isinstance(image, dict) or not isinstance(image.get("url"), str):
        return missing(f"{where}.url")
    url: str = image["url"]
    if "detail" in image and image["detail"] not in _DETAILS:
        return invalid_value(image["detail"], _DETAILS, f"{where}.detail")
    if url.startswith(("http://", "https://")):
        return None
    data = parse_data_url(url)
    if data is None:  # best-effort text
        return Problem(
            f"Invalid '{where}.url'. Expected a valid URL, but got a value with an invalid format.",
            f"{where}.url",
            "invalid_value",
        )
    if data.mime not in IMAGE_TYPES or decode_b64(data.data) is None:
        return Problem(  # best-effort text, modelled on the file-part error
            f"Invalid image URL: '{where}.url'. Expected a base64-encoded data URL with an image "
            "MIME type (e.g. 'data:image/png;base64,aW1nIGJ5dGVzIGhlcmU='), but got unsupported "
            f"MIME type '{data.mime}'.",
            f"{where}.url",
            "invalid_image_url",
        )
    return None


def _check_file(file: object, where: str, dialect: Dialect) -> Problem | None:
    if not isinstance(file, dict):
        return missing(where)
    data = file.get("file_data")
    if data is None:
        return None if isinstance(file.get("file_id"), str) else missing(f"{where}.file_data")
    if not isinstance(data, str):
        return Problem(
            f"Invalid type for '{where}.file_data'.", f"{where}.file_data", "invalid_type"
        )
    if dialect == "openrouter" and data.startswith(("http://", "https://")):
        return None  # OpenRouter fetches PDF URLs itself
    parsed = parse_data_url(data)
    if parsed is None or parsed.mime != "application/pdf" or decode_b64(parsed.data) is None:
        mime = parsed.mime if parsed is not None else "none"
        return Problem(
            f"Invalid file data: '{where}.file_data'. Expected a base64-encoded data URL with an "
            "application/pdf MIME type (e.g. 'data:application/pdf;base64,SGVsbG8sIHdvcmxkIQ=='),"
            f" but got unsupported MIME type '{mime}'.",
            f"{where}.file_data",
            "invalid_value",
        )
    return None
