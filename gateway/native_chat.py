"""The native API's chat body: a ChatRequest, or ``prompt`` (and ``system``) in place of
``messages``, as the GET stream's query takes them."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, model_validator

from shared.chat import ChatRequest


def _document_prompt(schema: dict[str, Any]) -> None:
    properties = schema.setdefault("properties", {})
    properties["prompt"] = {"type": "string", "description": "one user message, for messages"}
    properties["system"] = {"type": "string", "description": "with prompt: a system message"}
    schema["required"] = [name for name in schema.get("required", []) if name != "messages"]


class NativeChat(ChatRequest):
    """A chat request: ``messages``, or ``prompt`` and an optional ``system``."""

    model_config = ConfigDict(json_schema_extra=_document_prompt)

    @model_validator(mode="before")
    @classmethod
    def _from_prompt(cls, data: Any) -> Any:
        if not isinstance(data, dict) or ("prompt" not in data and "system" not in data):
            return data
        fields = dict(data)
        prompt, system = fields.pop("prompt", None), fields.pop("system", None)
        if not isinstance(prompt, str) or "messages" in fields:
            raise ValueError("give exactly one of `prompt` (a string) or `messages`")
        if system is not None and not isinstance(system, str):
            raise ValueError("`system` must be a string")
        system_message = [{"role": "system", "content": system}] if system is not None else []
        fields["messages"] = [*system_message, {"role": "user", "content": prompt}]
        return fields
