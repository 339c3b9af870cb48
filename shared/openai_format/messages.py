"""OpenAI ``messages`` to the gateway's: the same shapes, under the gateway's field names.

Content, content parts, ``tool_calls`` and ``tool_call_id`` pass as they are, for ChatRequest to
validate. The reasoning an assistant turn carried comes back under DeepSeek's name
(``reasoning_content``) or OpenRouter's (``reasoning``, ``reasoning_details``); what OpenAI's own
answers hold and clients echo (``refusal``, ``annotations``, ``audio: null``) is dropped.
"""

from __future__ import annotations

from typing import Any

from shared.openai_format.errors import UnknownParameter, UnsupportedParameter, invalid

_SAME = frozenset({"role", "content", "name", "tool_call_id", "tool_calls", "reasoning_details"})
_REASONING = ("reasoning_content", "reasoning")
# Echoed from OpenAI's own answers; they carry nothing a provider needs back.
_ECHOED = frozenset({"refusal", "annotations"})
# Accepted only when empty: the gateway carries neither legacy function calls nor audio out.
_UNSUPPORTED = {
    "function_call": "legacy function_call is not supported; send tool_calls",
    "audio": "assistant audio is not supported by this gateway",
}


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
        if value is None:
            continue
        if key == "tool_calls" and value == []:
            continue  # some clients send an empty list on every assistant turn
        if key in _SAME:
            message[key] = value
        elif key in _REASONING:
            message["reasoning"] = value
        elif key in _UNSUPPORTED:
            if value:
                raise UnsupportedParameter(
                    f"{where}.{key}: {_UNSUPPORTED[key]}", details={"param": f"{where}.{key}"}
                )
        elif key not in _ECHOED:
            raise UnknownParameter(
                f"unrecognized field in {where}: {key}", details={"param": f"{where}.{key}"}
            )
    content = message.get("content")
    if isinstance(content, list):
        # Refusal parts of an echoed answer say nothing to a provider.
        message["content"] = [
            p for p in content if not (isinstance(p, dict) and p.get("type") == "refusal")
        ]
    if content is None and message.get("role") == "assistant" and "tool_calls" not in message:
        message["content"] = ""  # an assistant turn that only refused
    return message
