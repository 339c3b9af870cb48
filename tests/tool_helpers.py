"""Tools, images and files the tool-calling tests send."""

from __future__ import annotations

import base64
import json
from typing import Any

from openai.types.chat import (
    ChatCompletionFunctionToolParam,
    ChatCompletionMessage,
    ChatCompletionMessageFunctionToolCall,
)

WEATHER: ChatCompletionFunctionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "units": {"enum": ["c", "f"]}},
            "required": ["city", "units"],
            "additionalProperties": False,
        },
        "strict": True,
    },
}
STOCK: ChatCompletionFunctionToolParam = {
    "type": "function",
    "function": {
        "name": "get_stock_price",
        "parameters": {
            "type": "object",
            "properties": {"ticker": {"type": "string"}},
            "required": ["ticker"],
            "additionalProperties": False,
        },
        "strict": True,
    },
}
# A 1x1 PNG, and a PDF the fake accepts as one.
PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kg"
    "AAAABJRU5ErkJggg=="
)
PDF = base64.b64encode(b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n").decode()


def image_part(data: str = PNG) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{data}"}}


def pdf_part() -> dict[str, Any]:
    return {
        "type": "file",
        "file": {"filename": "doc.pdf", "file_data": f"data:application/pdf;base64,{PDF}"},
    }


def calls_of(message: ChatCompletionMessage) -> list[ChatCompletionMessageFunctionToolCall]:
    """The message's function calls (the SDK types allow custom-tool calls too)."""
    return [
        call
        for call in message.tool_calls or ()
        if isinstance(call, ChatCompletionMessageFunctionToolCall)
    ]


def tool_results(calls: list[Any]) -> list[dict[str, Any]]:
    """A ``tool`` message answering each call, its content naming the call."""
    return [
        {"role": "tool", "tool_call_id": call.id, "content": f"result of {call.function.name}"}
        for call in calls
    ]


def assistant_turn(message: Any) -> dict[str, Any]:
    """An SDK message as the next request sends it back."""
    turn: dict[str, Any] = message.model_dump(exclude_none=True)
    turn.pop("refusal", None)
    return turn


def parsed_arguments(calls: list[Any]) -> list[dict[str, Any]]:
    return [json.loads(call.function.arguments) for call in calls]
