"""Where a request stands in a conversation (OpenAI- or Anthropic-shaped messages).

The directive normally sits in the last user message. In an agent loop that message is still the
original prompt on the second turn, so its `tool_calls` would make the fake call tools forever.
Hence: when the conversation ends with tool results, the fake answers with text unless the
directive found in those trailing tool results asks for calls itself, or the prompt's
`tool_rounds` allows another round.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .prompt import text_of
from .scenario import Scenario, find_directive


def _blocks(message: dict[str, Any]) -> list[Any]:
    content = message.get("content")
    return content if isinstance(content, list) else []


def is_tool_result(message: object) -> bool:
    if not isinstance(message, dict):
        return False
    if message.get("role") == "tool":
        return True
    return message.get("role") == "user" and any(
        isinstance(b, dict) and b.get("type") == "tool_result" for b in _blocks(message)
    )


def is_tool_call(message: object) -> bool:
    if not isinstance(message, dict) or message.get("role") != "assistant":
        return False
    if message.get("tool_calls"):
        return True
    return any(isinstance(b, dict) and b.get("type") == "tool_use" for b in _blocks(message))


@dataclass(frozen=True)
class Turn:
    overrides: dict[str, Any] | None
    answering_tools: bool  # the last message is a tool result
    calls_asked_now: bool  # the directive in the trailing tool results sets `tool_calls`
    rounds_done: int  # assistant tool-call messages since the last real user prompt

    def may_call_tools(self, sc: Scenario) -> bool:
        if sc.tool_calls is None:
            return False
        return not self.answering_tools or self.calls_asked_now or self.rounds_done < sc.tool_rounds


def read_turn(messages: object, model: str | None) -> Turn:
    """The directive for this request and the loop state (raises ScenarioError on a bad one)."""
    msgs = [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []
    answering = bool(msgs) and is_tool_result(msgs[-1])
    last_assistant = max(
        (i for i, m in enumerate(msgs) if m.get("role") == "assistant"), default=-1
    )
    prompt_index = max(
        (i for i, m in enumerate(msgs) if m.get("role") == "user" and not is_tool_result(m)),
        default=-1,
    )
    rounds = sum(1 for m in msgs[prompt_index + 1 :] if is_tool_call(m))

    for message in reversed(msgs[last_assistant + 1 :]):
        found = find_directive(text_of(message.get("content")), model)
        if found is not None:
            now = answering and "tool_calls" in found
            return Turn(found, answering, now, rounds)
    users = [m for m in msgs if m.get("role") == "user"]
    source = msgs[prompt_index] if prompt_index >= 0 else (users[-1] if users else None)
    found = None if source is None else find_directive(text_of(source.get("content")), model)
    return Turn(found, answering, False, rounds)
