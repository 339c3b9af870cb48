"""Claude Code itself (``@anthropic-ai/claude-code``, pinned, installed by
scripts/install-claude-code outside the repository) against the gateway's Messages API, with the
fake provider behind the gateway (an OpenAI-compatible model and an Anthropic one): a plain
answer, and an agent turn where the model calls Bash and Claude Code runs it and sends the
result back.

Each run is offline: ``claude -p`` with a fresh HOME and only the environment it needs, the
gateway as its base URL, non-essential traffic (update checks, telemetry) off.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Stack
from tests.helpers import directive, expected_text, new_tag
from tests.stack import ROOT


@pytest.fixture(scope="session")
def claude_code() -> Path:
    """The pinned Claude Code (installed on first use)."""
    found = subprocess.run(
        [str(ROOT / "scripts" / "install-claude-code")],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert found.returncode == 0, f"Claude Code did not install:\n{found.stderr}"
    return Path(found.stdout.strip())


def run_claude(
    claude_code: Path, stack: Stack, tmp_path: Path, prompt: str, *flags: str, model: str = "fake"
) -> dict[str, Any]:
    """One ``claude -p`` run, as a user would start it, with only its own environment."""
    assert stack.api_key is not None
    home, project = tmp_path / "home", tmp_path / "project"
    home.mkdir()
    project.mkdir()
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "TERM": "dumb",
        "LANG": "C.UTF-8",
        "ANTHROPIC_BASE_URL": stack.base_url,
        "ANTHROPIC_API_KEY": stack.api_key,
        "ANTHROPIC_MODEL": model,
        "ANTHROPIC_DEFAULT_HAIKU_MODEL": model,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
    }
    done = subprocess.run(
        [str(claude_code), "-p", prompt, "--output-format", "json", *flags],
        env=env,
        cwd=project,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, f"claude exited {done.returncode}: {done.stdout!r} {done.stderr!r}"
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize("model", ["fake", "claude"])
def test_claude_code_answers_through_the_gateway(
    claude_code: Path, stack: Stack, tmp_path: Path, model: str
) -> None:
    tag = new_tag()
    prompt = f"say hello {directive(tokens=5, tag=tag)}"
    result = run_claude(claude_code, stack, tmp_path, prompt, model=model)
    assert (result["is_error"], result["subtype"]) == (False, "success")
    assert result["result"] == expected_text(5)
    (sent,) = stack.fake.requests(tag)
    # Claude Code's system blocks, its system turn and its tools reached the provider.
    body = sent["body"]
    roles = [message["role"] for message in body["messages"]]
    if model == "fake":
        assert roles[:2] == ["system", "user"] and "system" in roles[2:]
        assert "Bash" in {tool["function"]["name"] for tool in body["tools"]}
    else:  # Anthropic's top-level system, and its own thinking and effort unchanged
        assert roles == ["user"] and len(body["system"]) >= 3
        assert "Bash" in {tool["name"] for tool in body["tools"]}
        assert body["thinking"]["type"] == "adaptive" and body["output_config"]["effort"]


@pytest.mark.parametrize("model", ["fake", "claude"])
def test_claude_code_runs_a_tool_the_model_calls_and_sends_the_result_back(
    claude_code: Path, stack: Stack, tmp_path: Path, model: str
) -> None:
    tag = new_tag()
    call = {"name": "Bash", "arguments": {"command": "echo hi", "description": "Say hi"}}
    prompt = f"run echo hi {directive(tool_calls=[call], tokens=3, tag=tag)}"
    flags = ("--allowedTools", "Bash(echo *)")
    result = run_claude(claude_code, stack, tmp_path, prompt, *flags, model=model)
    assert result["result"] == expected_text(3)
    assert result["num_turns"] == 2
    first, second = stack.fake.requests(tag)
    assert first["body"]["tools"]
    assert _tool_output(second["body"]["messages"]) == "hi"  # Bash ran; its output came back


def _tool_output(messages: list[dict[str, Any]]) -> str:
    """The one tool result of a conversation, in either dialect (a ``tool`` message, or a
    ``tool_result`` block of Anthropic's), as text."""
    results = [m["content"] for m in messages if m["role"] == "tool"] + [
        block.get("content", "")
        for m in messages
        if m["role"] == "user" and isinstance(m["content"], list)
        for block in m["content"]
        if block.get("type") == "tool_result"
    ]
    assert len(results) == 1
    content = results[0]
    text = content if isinstance(content, str) else "".join(p["text"] for p in content)
    return str(text).strip()
