"""The longer schemathesis run, by hand: every phase (stateful included) and every check against
the whole stack with the fake provider as the default model, and a count of the 5xx answers.

    python -m bench.fuzz [--max-examples 300] [--checks all]

The suite's bounded run is ``tests/integration/test_fuzz.py``. Upstream refusals count here: a
request the gateway accepts but the provider refuses is the provider's 502 (provider_rejected).
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

from bench.stack import bench_stack
from tests.fuzzing import run_schemathesis


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--max-examples", type=int, default=300)
    parser.add_argument("--checks", default="all")
    parser.add_argument("--phases", default="examples,coverage,fuzzing,stateful")
    args = parser.parse_args()
    with bench_stack("fuzz") as stack:
        report = Path(stack.log_dir) / "schemathesis.txt"
        started = time.monotonic()
        run_schemathesis(
            stack.base_url,
            stack.api_key,
            max_examples=args.max_examples,
            report=report,
            phases=args.phases,
            checks=args.checks,
        )
        text = report.read_text()
        cases = re.search(r"(\d+) generated", text)
        server_errors = re.findall(r"^\[(5\d\d)\]", text, re.M)
        print(
            f"schemathesis: {cases.group(1) if cases else '?'} cases in "
            f"{time.monotonic() - started:.0f} s; 5xx answers reported: {len(server_errors)} "
            f"({', '.join(sorted(set(server_errors))) or 'none'})"
        )
        summary = text[text.find("Failures:") :].split("\n\n")[0] if "Failures:" in text else ""
        print(summary or "no failures")
        print(f"full report: {report}")


if __name__ == "__main__":
    main()
