"""The chat request model: what it accepts and the limits it holds."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from shared.chat import MAX_TOTAL_CHARS, ChatRequest

USER = {"role": "user", "content": "hi"}


def test_sampling_options_leave_out_what_was_not_set() -> None:
    request = ChatRequest.model_validate(
        {"messages": [USER], "model": "m", "temperature": 0, "stop": ["x"], "timeout_s": 5}
    )
    assert request.sampling_options() == {"temperature": 0.0, "stop": ["x"]}


def test_integer_temperature_is_accepted_but_strings_are_not() -> None:
    assert ChatRequest.model_validate({"messages": [USER], "temperature": 1}).temperature == 1.0
    with pytest.raises(ValidationError):
        ChatRequest.model_validate({"messages": [USER], "max_tokens": "12"})


@pytest.mark.parametrize(
    "body",
    [
        {"messages": [{"role": "user", "content": "x" * (MAX_TOTAL_CHARS // 2 + 1)}] * 2},
        {"messages": [USER], "stop": ""},
        {"messages": [{"role": "user", "content": "hi", "name": "bad name"}]},
    ],
)
def test_limits(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ChatRequest.model_validate(body)
