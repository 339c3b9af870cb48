"""A bounded schemathesis run in the suite (a longer one by hand: ``python -m bench.fuzz``): no
5xx, and every status and content type answered is in the OpenAPI document."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Stack
from tests.fuzzing import run_schemathesis
from tests.stack import start_gateway

pytestmark = pytest.mark.integration


def test_schemathesis_finds_no_server_error_and_nothing_undocumented(
    stack: Stack, tmp_path: Path
) -> None:
    # A gateway of its own whose default model is the built-in demo: the fake provider refuses
    # what OpenAI refuses (a tool message without tool_call_id), and upstream refusals are the
    # provider's 502 by design; this run is about the gateway's own handling of its input.
    env = {**stack.env, "LLM_GATEWAY_DEFAULT_MODEL": "demo"}
    gateway, base_url = start_gateway(env, stack.log_dir, name="gateway-fuzz")
    try:
        done = run_schemathesis(
            base_url,
            str(stack.api_key),
            max_examples=30,
            report=tmp_path / "schemathesis.txt",
            # schemathesis 4.32 trips over its own coverage phase on one body schema.
            phases="examples,fuzzing",
        )
    finally:
        gateway.stop()
    assert done.returncode == 0, done.stdout[-6000:]
