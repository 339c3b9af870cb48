"""Tool calls in the OpenAI Chat Completions dialect (OpenAI, vLLM, DeepSeek, OpenRouter).

`tool_call_deltas` gives the `delta.tool_calls` list of each streamed chunk. The canonical layout
(wire-tools §1.4) puts `index`, `id`, `type` and `function.name` with `arguments: ""` on a call's
first fragment and only `index` + `function.arguments` on later ones, one fragment per chunk,
call after call. The other layouts and quirks are what other servers send (§1.5, §8.A.1).
"""

from __future__ import annotations

from typing import Any

from .scenario import Scenario
from .tools import ToolCall

Entry = dict[str, Any]


def _index(sc: Scenario, i: int) -> dict[str, int]:
    if sc.has_quirk("no_index"):
        return {}
    if sc.has_quirk("all_index_0"):
        return {"index": 0}
    return {"index": i + 1 if sc.has_quirk("start_index_1") else i}


def _header(sc: Scenario, i: int, call: ToolCall, arguments: object) -> Entry:
    entry: Entry = _index(sc, i) | {"id": call.id}
    if not sc.has_quirk("no_type"):
        entry["type"] = "function"
    entry["function"] = {"name": call.name, "arguments": arguments}
    return entry


def _fragment(sc: Scenario, i: int, call: ToolCall, piece: str) -> Entry:
    if sc.has_quirk("repeat_id_name"):
        return _header(sc, i, call, piece)
    if sc.has_quirk("empty_id_name"):
        return _index(sc, i) | {"id": "", "function": {"name": "", "arguments": piece}}
    return _index(sc, i) | {"function": {"arguments": piece}}


def _per_call(sc: Scenario, i: int, call: ToolCall) -> list[Entry]:
    if sc.has_quirk("args_object"):  # the whole input as a JSON object, no fragments
        return [_header(sc, i, call, call.input)]
    return [_header(sc, i, call, "")] + [_fragment(sc, i, call, p) for p in call.fragments]


def tool_call_deltas(sc: Scenario, calls: list[ToolCall]) -> list[list[Entry]]:
    """One list of `tool_calls` entries per chunk, in sending order."""
    per_call = [_per_call(sc, i, call) for i, call in enumerate(calls)]
    layout = sc.tool_stream
    if layout == "whole":  # Ollama: every call complete, all in one chunk
        return [
            [
                _header(sc, i, c, c.input if sc.has_quirk("args_object") else c.arguments)
                for i, c in enumerate(calls)
            ]
        ]
    if layout == "interleaved":  # 0,1,0,1...: legal, and breaks naive accumulators
        chunks: list[list[Entry]] = []
        for step in range(max(len(entries) for entries in per_call)):
            chunks += [[entries[step]] for entries in per_call if step < len(entries)]
        return chunks
    if layout == "args_at_end":  # every header first, each call's arguments whole at the end
        heads = [[entries[0]] for entries in per_call]
        tails = [
            [_fragment(sc, i, c, c.arguments)]
            for i, c in enumerate(calls)
            if c.arguments and not sc.has_quirk("args_object")
        ]
        return heads + tails
    if layout == "multi_fragment":  # vLLM speculative decoding: two fragments in one chunk
        chunks = []
        for entries in per_call:
            chunks.append([entries[0]])
            rest = entries[1:]
            chunks += [rest[k : k + 2] for k in range(0, len(rest), 2)]
        return chunks
    return [[entry] for entries in per_call for entry in entries]


def message_tool_calls(
    sc: Scenario, calls: list[ToolCall], *, with_index: bool = False
) -> list[Entry]:
    """`message.tool_calls` of a non-streamed answer (DeepSeek also numbers them)."""
    out: list[Entry] = []
    for i, call in enumerate(calls):
        arguments: object = call.input if sc.has_quirk("args_object") else call.arguments
        entry: Entry = {"index": i} if with_index else {}
        entry |= {"id": call.id, "type": "function"}
        entry["function"] = {"name": call.name, "arguments": arguments}
        out.append(entry)
    return out
