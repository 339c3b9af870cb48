"""Tool-call fragments of the Chat Completions family, made regular (wire-tools §1.4-1.5).

Upstreams differ: ids and names repeated on every fragment, a first call at index 1, no
index at all, every call at index 0, arguments sent as an object. What leaves here is one form:
indices 0..n-1 in order of first appearance, ``id`` and ``name`` on a call's first fragment
only, ``arguments`` always a string piece. Keep one per upstream stream.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from shared.events import ToolCallDelta


class ToolCallFragments:
    def __init__(self) -> None:
        self._by_upstream: dict[object, int] = {}  # upstream index (or id) -> our index
        self._ids: list[str] = []

    def regular(self, raw: list[Any]) -> list[ToolCallDelta]:
        """The fragments of one delta's ``tool_calls``."""
        fragments: list[ToolCallDelta] = []
        for item in raw:
            if isinstance(item, dict):
                fragment = self._one(item)
                if fragment is not None:
                    fragments.append(fragment)
        return fragments

    def _one(self, item: dict[str, Any]) -> ToolCallDelta | None:
        raw_function = item.get("function")
        function: dict[str, Any] = raw_function if isinstance(raw_function, dict) else {}
        call_id = item.get("id") if isinstance(item.get("id"), str) and item["id"] else None
        name = function.get("name") if isinstance(function.get("name"), str) else None
        arguments = _argument_text(function.get("arguments"))
        index = self._our_index(item.get("index"), call_id)
        first = index == len(self._ids)
        if first:
            self._ids.append(call_id or f"call_{uuid.uuid4().hex[:24]}")
        if not first and not arguments:
            return None  # a repeated id/name, or an empty piece
        return ToolCallDelta(
            index=index,
            id=self._ids[index] if first else None,
            name=(name or "") if first else None,
            arguments=arguments,
        )

    def _our_index(self, upstream: object, call_id: str | None) -> int:
        known = self._by_upstream.get(upstream) if isinstance(upstream, int) else None
        if known is not None and (call_id is None or call_id == self._ids[known]):
            return known
        if known is None and upstream is None and call_id is None and self._ids:
            return len(self._ids) - 1  # no index, no id: more of the last call
        if call_id is not None and call_id in self._ids:
            return self._ids.index(call_id)
        # A new call: an unseen index, or a new id under a reused one (every call at 0).
        ours = len(self._ids)
        if isinstance(upstream, int):
            self._by_upstream[upstream] = ours
        return ours


def _argument_text(arguments: object) -> str:
    if isinstance(arguments, str):
        return arguments
    if arguments is None:
        return ""
    return orjson.dumps(arguments).decode()  # an object where a JSON string belongs
