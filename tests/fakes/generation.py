"""The answer a valid request gets, decided once for every format: tool calls or text (or JSON
for structured output), reasoning, prompt tokens and cache usage."""

from __future__ import annotations

import time
from typing import Any

from .caching import CacheUsage, PromptCache
from .openrouter_extras import file_annotations
from .prompt import prompt_blocks
from .scenario import Scenario, token_strings
from .structured import structured_text
from .tools import fragments, plan_calls, read_choice
from .turns import Turn
from .wire import Generation, WireFormat


def _cache_usage(
    cache: PromptCache, fmt: WireFormat, body: dict[str, Any], sc: Scenario, model: str
) -> tuple[int, CacheUsage]:
    anthropic = fmt.name == "anthropic"
    blocks = prompt_blocks(body, f"{fmt.name}|{model}", with_system=anthropic)
    prompt_tokens = sum(b.tokens for b in blocks)
    if sc.cached_tokens is not None:  # forced by the scenario: the cache is not consulted
        return prompt_tokens, CacheUsage(read=min(sc.cached_tokens, prompt_tokens))
    if fmt.cache_mode(model) == "explicit":
        usage = cache.explicit(blocks, body.get("cache_control"), sc.cache_min_tokens)
    else:
        usage = cache.automatic(blocks, sc.cache_min_tokens)
    return prompt_tokens, usage


def build_generation(
    cache: PromptCache,
    fmt: WireFormat,
    body: dict[str, Any],
    sc: Scenario,
    turn: Turn,
    model: str,
    include_usage: bool,
) -> Generation:
    anthropic = fmt.name == "anthropic"
    reasoning_mode = fmt.reasoning_requested(body, model)
    calls = []
    if turn.may_call_tools(sc) or read_choice(body, anthropic).forced:
        calls = plan_calls(
            sc,
            body,
            anthropic=anthropic,
            new_id=lambda i: fmt.tool_call_id(model, i),
            truncate=sc.finish(True) == "length",
        )
    if calls:
        content = token_strings("t", sc.text_before_tools)
    else:
        json_text = structured_text(sc, body, anthropic)
        if json_text is None:
            content = sc.pieces if sc.pieces is not None else token_strings("t", sc.tokens)
        else:
            if sc.finish(False) == "length":  # cut mid-object, as a real max_tokens stop does
                json_text = json_text[: max(1, len(json_text) // 2)]
            content = list(fragments(json_text, sc.chunk_chars))
    prompt_tokens, usage = _cache_usage(cache, fmt, body, sc, model)
    return Generation(
        model=model,
        scenario=sc,
        body=body,
        prompt_tokens=prompt_tokens,
        reasoning=token_strings("r", sc.reasoning_count(reasoning_mode)),
        content=content,
        reasoning_mode=reasoning_mode,
        include_usage=include_usage,
        response_id=fmt.new_id(),
        created=int(time.time()),
        tool_calls=calls,
        cache=usage,
        thinking_shown=fmt.thinking_shown(body),
        attachments=file_annotations(body) if fmt.name == "openrouter" else [],
    )
