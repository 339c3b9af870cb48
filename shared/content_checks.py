"""Checks of a whole conversation that no single field can make: attachments per request, tool
calls answered by tool messages, tool schemas and the tool choice. Each refusal has its own
stable code and names the field at fault (``details.param``)."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from shared.config import AttachmentLimits
from shared.content import (
    FilePart,
    ImagePart,
    NamedToolChoice,
    Tool,
    ToolChoice,
)
from shared.errors import (
    AttachmentTooLarge,
    InvalidToolSchema,
    ToolCallUnmatched,
    TooManyAttachments,
)

if TYPE_CHECKING:
    from shared.chat import ChatMessage


def check_attachments(messages: Sequence[ChatMessage], limits: AttachmentLimits) -> None:
    """No more images and files than ``limits`` allow, each inline one within its byte cap."""
    max_image, max_file = limits.max_image_bytes, limits.max_file_bytes
    images = files = 0
    for i, message in enumerate(messages):
        for j, part in enumerate(message.parts):
            where = f"messages[{i}].content[{j}]"
            if isinstance(part, ImagePart):
                images += 1
                inline = part.image_url.inline
                if inline is not None and inline.size_bytes > max_image:
                    raise AttachmentTooLarge(
                        f"{where}: an image may be at most {max_image} bytes",
                        details={"param": f"{where}.image_url.url", "limit": max_image},
                    )
            elif isinstance(part, FilePart):
                files += 1
                inline = part.file.inline
                if inline is not None and inline.size_bytes > max_file:
                    raise AttachmentTooLarge(
                        f"{where}: a file may be at most {max_file} bytes",
                        details={"param": f"{where}.file.file_data", "limit": max_file},
                    )
    counts = (("images", images, limits.max_images), ("files", files, limits.max_files))
    for kind, count, limit in counts:
        if count > limit:
            raise TooManyAttachments(
                f"a request may carry at most {limit} {kind} ({count} given)",
                details={"param": "messages", "limit": limit},
            )


def check_tool_calls_answered(messages: Sequence[ChatMessage]) -> None:
    """Every ``tool`` message answers a call an earlier assistant turn made."""
    called: set[str] = set()
    for i, message in enumerate(messages):
        for call in message.tool_calls or ():
            called.add(call.id)
        if message.role == "tool" and message.tool_call_id not in called:
            raise ToolCallUnmatched(
                f"messages[{i}] answers tool call {message.tool_call_id!r}, which no earlier "
                "assistant message made",
                details={"param": f"messages[{i}].tool_call_id"},
            )


def check_tools(tools: Sequence[Tool] | None, choice: ToolChoice | None) -> None:
    """Each tool's parameters are a JSON Schema of an object; a named choice names a tool."""
    names = set()
    for i, tool in enumerate(tools or ()):
        function = tool.function
        where = f"tools[{i}].function.parameters"
        if function.name in names:
            raise InvalidToolSchema(
                f"two tools are named {function.name!r}",
                details={"param": f"tools[{i}].function.name"},
            )
        names.add(function.name)
        schema = function.parameters
        if schema is None:
            continue
        problem = _SCHEMA_VERDICTS.problem(schema)
        if problem is not None:
            raise InvalidToolSchema(
                f"{where} is not a valid JSON Schema: {problem}", details={"param": where}
            )
        if schema.get("type", "object") != "object":
            raise InvalidToolSchema(
                f"{where} must describe an object (type: object)", details={"param": where}
            )
    if isinstance(choice, NamedToolChoice) and choice.function.name not in names:
        raise InvalidToolSchema(
            f"tool_choice names {choice.function.name!r}, which is not among the tools",
            details={"param": "tool_choice"},
        )
    if choice == "required" and not names:
        raise InvalidToolSchema(
            "tool_choice is required but no tools are given", details={"param": "tool_choice"}
        )


class SchemaVerdicts:
    """What checking each JSON Schema against the 2020-12 meta-schema found, by the schema's
    digest, for the last ``max_entries`` schemas (only digests and messages are kept)."""

    def __init__(self, max_entries: int) -> None:
        self._max_entries = max_entries
        self._verdicts: OrderedDict[bytes, str | None] = OrderedDict()
        self._lock = threading.Lock()  # the worker validates on pool threads too

    def problem(self, schema: dict[str, Any]) -> str | None:
        """Why ``schema`` is not a valid JSON Schema, or None."""
        try:
            canonical = orjson.dumps(schema, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:  # a lone surrogate in a string: checked, not kept
            return _meta_schema_problem(schema)
        digest = hashlib.blake2b(canonical, digest_size=16).digest()
        with self._lock:
            if digest in self._verdicts:
                self._verdicts.move_to_end(digest)
                return self._verdicts[digest]
        verdict = _meta_schema_problem(schema)
        with self._lock:
            self._verdicts[digest] = verdict
            if len(self._verdicts) > self._max_entries:
                self._verdicts.popitem(last=False)
        return verdict


def _meta_schema_problem(schema: dict[str, Any]) -> str | None:
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return exc.message
    return None


# The check takes 1 to 15 ms a schema (jsonschema resolving the meta-schema's dynamic
# references), and agents send the same tools on every turn, through the gateway and again in
# the worker; a ChatRequest validator cannot be handed an object, so the memo is the module's.
_SCHEMA_VERDICTS = SchemaVerdicts(max_entries=1024)
