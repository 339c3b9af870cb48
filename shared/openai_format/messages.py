"""OpenAI ``messages`` to the gateway's: text content only, parts joined."""

from __future__ import annotations

from typing import Any

from shared.openai_format.errors import UnknownParameter, UnsupportedParameter, invalid

# Text parts are joined with a newline: separate parts are separate paragraphs of one message.
PART_SEPARATOR = "\n"
_MESSAGE_FIELDS = frozenset({"role", "content", "name", "tool_call_id"})
# Accepted only when empty: the gateway carries no tool calls yet.
_TOOL_FIELDS = frozenset({"tool_calls", "function_call", "audio"})
# Assistant-message fields of OpenAI's own answers that clients echo back; they carry nothing.
_ECHOED_FIELDS = frozenset({"refusal", "annotations"})


def messages_from_openai(raw: object) -> object:
    """The messages as the gateway's ChatRequest takes them (which then checks roles, sizes);
    anything that is not a list is left for that validation to refuse."""
    if not isinstance(raw, list):
        return raw
    return [message_from_openai(message, f"messages[{i}]") for i, message in enumerate(raw)]


def message_from_openai(raw: object, where: str) -> dict[str, Any]:
    """One message; ``where`` names it in errors (``messages[2]``)."""
    if not isinstance(raw, dict):
        raise invalid(f"{where} must be an object", where)
    message: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _MESSAGE_FIELDS:
            if value is not None:
                message[key] = value
        elif key in _TOOL_FIELDS:
            if value:
                raise UnsupportedParameter(
                    f"{where}.{key}: tool and function calls are not supported by this gateway "
                    "yet; send text content only",
                    details={"param": f"{where}.{key}"},
                )
        elif key not in _ECHOED_FIELDS:
            raise UnknownParameter(
                f"unrecognized field in {where}: {key}", details={"param": f"{where}.{key}"}
            )
    content = raw.get("content")
    if content is None and raw.get("role") == "assistant":
        message["content"] = ""  # an assistant turn that only refused or called tools
    elif content is not None:
        message["content"] = content_text(content, f"{where}.content")
    return message


def content_text(content: object, where: str) -> object:
    """A string as it is; an array of text parts as their texts joined."""
    if not isinstance(content, list):
        return content  # a string, or a wrong type for ChatRequest to refuse
    return PART_SEPARATOR.join(_part_text(part, f"{where}[{i}]") for i, part in enumerate(content))


def _part_text(part: object, where: str) -> str:
    if not isinstance(part, dict):
        raise invalid(f"{where} must be an object such as {{'type': 'text', 'text': ...}}", where)
    kind = part.get("type")
    if kind != "text":
        if isinstance(kind, str):
            raise UnsupportedParameter(
                f"{where}: content parts of type {kind!r} are not supported; "
                "this gateway carries text only",
                details={"param": f"{where}.type"},
            )
        raise invalid(f"{where}.type must be 'text'", f"{where}.type")
    text = part.get("text")
    if not isinstance(text, str):
        raise invalid(f"{where}.text must be a string", f"{where}.text")
    return text
