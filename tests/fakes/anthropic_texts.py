"""Anthropic's 400 texts for reasoning sent back wrongly, worded as captured in the wild (also
what OpenRouter relays from an Anthropic model inside its "Provider returned error")."""

from __future__ import annotations


def thinking_missing(index: int, found: str) -> str:
    return (
        f"messages.{index}.content.0.type: Expected `thinking` or `redacted_thinking`, but found "
        f"`{found}`. When `thinking` is enabled, a final `assistant` message must start with a "
        "thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). We "
        "recommend you include thinking blocks from previous turns. To avoid this requirement, "
        "disable `thinking`. Please consult our documentation at "
        "https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
    )


def thinking_modified(index: int, block: int) -> str:
    return (
        f"messages.{index}.content.{block}: `thinking` or `redacted_thinking` blocks in the "
        "latest assistant message cannot be modified. These blocks must remain as they were in "
        "the original response."
    )


def signature_invalid(index: int, block: int) -> str:
    return f"messages.{index}.content.{block}: Invalid `signature` in `thinking` block"
