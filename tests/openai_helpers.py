"""What the tests that use the official ``openai`` SDK share."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from openai import OpenAI

from tests.conftest import Stack


@pytest.fixture
def sdk(stack: Stack) -> Iterator[OpenAI]:
    """The SDK pointed at the gateway, with the stack's key; no retries, so tests see errors."""
    with OpenAI(base_url=f"{stack.base_url}/v1", api_key=stack.api_key, max_retries=0) as client:
        yield client


@pytest.fixture
def fresh_circuits(stack: Stack) -> None:
    """Every circuit closed (failures scripted by earlier tests would open them)."""
    for key in stack.redis.scan_iter("llm:circuit:*"):
        stack.redis.delete(key)


def user(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]
