"""``llm-gateway batch`` as a batch submitter runs it: submit --wait, status, list, results."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.batch_helpers import batch_worker, request_line, write_jsonl
from tests.conftest import Stack
from tests.helpers import directive
from tests.stack import ROOT

__all__ = ["batch_worker"]


def cli(stack: Stack, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", "batch", *args],
        env={
            **stack.env,
            "COLUMNS": "200",
            "LLM_GATEWAY_URL": stack.base_url,
            "LLM_GATEWAY_API_KEY": stack.api_key or "",
        },
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert not check or done.returncode == 0, done.stdout + done.stderr
    return done


def test_submit_wait_then_results_round_trip(
    batch_worker: object, stack: Stack, tmp_path: Path
) -> None:
    lines = [request_line(f"cli-{i}", directive(tokens=2)) for i in range(20)]
    lines.append(request_line("cli-bad", directive(status=400)))
    source = write_jsonl(tmp_path / "in.jsonl", lines)
    submitted = cli(stack, "submit", str(source), "--wait", "--metadata", "team=cli")
    out = submitted.stdout
    found = re.search(r"batch: (batch_\w+)", out)
    assert found, out
    batch_id = found.group(1)
    assert f"batch {batch_id}: completed" in out
    assert "20 done, 1 failed / 21" in out
    assert f"llm-gateway batch results {batch_id}" in out

    assert "completed" in cli(stack, "status", batch_id).stdout
    assert batch_id in cli(stack, "list").stdout

    output, errors = tmp_path / "out.jsonl", tmp_path / "err.jsonl"
    fetched = cli(stack, "results", batch_id, "-o", str(output), "--errors", str(errors)).stdout
    assert "20 lines" in fetched
    assert sorted(json.loads(line)["custom_id"] for line in output.read_text().splitlines()) == (
        sorted(f"cli-{i}" for i in range(20))
    )
    assert [json.loads(line)["custom_id"] for line in errors.read_text().splitlines()] == [
        "cli-bad"
    ]

    refused = cli(stack, "cancel", batch_id, check=False)
    assert refused.returncode == 1
    assert "409" in refused.stderr
