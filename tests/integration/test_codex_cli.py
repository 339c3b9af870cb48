"""Codex CLI itself (``@openai/codex``, pinned, installed by scripts/install-codex outside the
repository) against the gateway's Responses API, with the fake provider behind the gateway.

Codex runs non-interactively (``codex exec``) with a fresh CODEX_HOME whose config names the
gateway as its model provider (the offline config: no analytics, plugins or update checks),
in a scratch working directory, with only the environment it needs.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import Stack
from tests.helpers import directive, expected_text, new_tag
from tests.openai_helpers import fresh_circuits
from tests.stack import ROOT

__all__ = ["fresh_circuits"]  # fixtures these tests use
pytestmark = pytest.mark.usefixtures("fresh_circuits")

KEY_VARIABLE = "LLM_GATEWAY_KEY"


def config_toml(base_url: str, model: str) -> str:
    """Codex's config: the gateway as a Responses API provider, nothing that goes online."""
    return f"""\
model = "{model}"
model_provider = "gateway"
check_for_update_on_startup = false

[model_providers.gateway]
name = "llm-gateway"
base_url = "{base_url}/v1"
env_key = "{KEY_VARIABLE}"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0

[analytics]
enabled = false

[feedback]
enabled = false

[features]
plugins = false
apps = false
"""


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str
    workdir: Path


@pytest.fixture(scope="session")
def codex() -> str:
    """The pinned Codex CLI (installed on first use)."""
    found = subprocess.run(
        [str(ROOT / "scripts" / "install-codex")],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert found.returncode == 0, f"Codex CLI did not install:\n{found.stderr}"
    return found.stdout.strip()


@pytest.fixture
def run_codex(codex: str, stack: Stack, tmp_path: Path) -> Callable[..., Run]:
    """Runs ``codex exec`` on a prompt, for a model, in a fresh home and working directory."""

    def run(prompt: str, model: str = "fake") -> Run:
        home, workdir = tmp_path / "home", tmp_path / "work"
        (home / ".codex").mkdir(parents=True)
        workdir.mkdir()
        (home / ".codex" / "config.toml").write_text(config_toml(stack.base_url, model))
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(home),
            "CODEX_HOME": str(home / ".codex"),
            "TERM": "dumb",
            "LANG": "C.UTF-8",
            KEY_VARIABLE: stack.api_key or "",
        }
        args = [
            codex,
            "exec",
            "--skip-git-repo-check",
            # The gateway is what is tested; the sandbox needs kernel features CI may lack.
            "--dangerously-bypass-approvals-and-sandbox",
            "-C",
            str(workdir),
            prompt,
        ]
        done = subprocess.run(
            args,
            env=env,
            stdin=subprocess.DEVNULL,  # else codex exec waits for more input on stdin
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        return Run(done.returncode, done.stdout, done.stderr, workdir)

    return run


def test_codex_says_hello_through_the_gateway(run_codex: Callable[..., Run], stack: Stack) -> None:
    tag = new_tag()
    run = run_codex(f"say hello {directive(tokens=5, tag=tag)}")
    assert run.returncode == 0, run.stderr
    assert expected_text(5) in run.stdout
    (record,) = stack.fake.requests(tag)
    sent = record["body"]
    assert record["stream"] is True
    assert sent["messages"][0]["role"] == "developer"  # Codex's instructions, as it sent them
    assert "exec_command" in {tool["function"]["name"] for tool in sent["tools"]}


def test_codex_runs_a_shell_call_and_sends_its_output_back(
    run_codex: Callable[..., Run], stack: Stack
) -> None:
    tag = new_tag()
    call = {"name": "exec_command", "arguments": {"cmd": "echo hi"}}
    run = run_codex(f"run it {directive(tool_calls=[call], tokens=4, tag=tag)}")
    assert run.returncode == 0, run.stderr
    assert expected_text(4) in run.stdout
    first, second = stack.fake.requests(tag)
    assert first["body"]["tools"]
    turn, result = second["body"]["messages"][-2:]
    assert [c["function"]["name"] for c in turn["tool_calls"]] == ["exec_command"]
    assert json.loads(turn["tool_calls"][0]["function"]["arguments"]) == {"cmd": "echo hi"}
    assert result["role"] == "tool" and result["tool_call_id"] == turn["tool_calls"][0]["id"]
    assert "hi" in result["content"].split("Output:")[-1]


def test_codex_applies_a_patch_through_its_custom_tool(
    run_codex: Callable[..., Run], stack: Stack
) -> None:
    # For a model it knows, Codex sends apply_patch as a custom (free-form) tool: the gateway
    # offers it as a function of one string and answers the call as a custom tool call.
    tag = new_tag()
    patch = "*** Begin Patch\n*** Add File: hello.txt\n+hi from the gateway\n*** End Patch\n"
    call = {"name": "apply_patch", "arguments": {"input": patch}}
    run = run_codex(f"patch it {directive(tool_calls=[call], tokens=3, tag=tag)}", "gpt-5.5")
    assert run.returncode == 0, run.stderr
    assert (run.workdir / "hello.txt").read_text() == "hi from the gateway\n"
    assert expected_text(3) in run.stdout
    first, second = stack.fake.requests(tag)
    offered = {t["function"]["name"]: t["function"] for t in first["body"]["tools"]}
    assert offered["apply_patch"]["parameters"]["required"] == ["input"]
    assert "lark grammar" in offered["apply_patch"]["description"]
    turn, result = second["body"]["messages"][-2:]
    assert json.loads(turn["tool_calls"][0]["function"]["arguments"]) == {"input": patch}
    assert result["role"] == "tool" and "hello.txt" in result["content"]
