"""``py-spy record`` of the gateway and the worker while a load runs (bench.cpu --profile)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return shutil.which("py-spy") or (str(beside) if beside.exists() else None)


@contextmanager
def profiling(out_dir: Path | None, label: str, pids: dict[str, int], rate: int) -> Iterator[None]:
    """``py-spy record`` (raw collapsed stacks, per thread, idle frames left out) of the
    gateway and the worker while the body runs."""
    if out_dir is None:
        yield
        return
    executable = py_spy()
    if executable is None:
        raise RuntimeError("--profile needs py-spy: pip install py-spy")
    out_dir.mkdir(parents=True, exist_ok=True)
    spies = []
    for name in ("gateway", "worker"):
        output = out_dir / f"{label}-{name}.txt"
        args = [executable, "record", "--pid", str(pids[name]), "--rate", str(rate)]
        args += ["--format", "raw", "--threads", "--nonblocking", "--output", str(output)]
        spies.append(subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
    time.sleep(1.0)  # py-spy attaches
    try:
        yield
    finally:
        for spy in spies:
            spy.send_signal(signal.SIGINT)
        for spy in spies:
            try:
                _, err = spy.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                spy.kill()
                _, err = spy.communicate()
            if spy.returncode not in (0, -signal.SIGINT):
                print(f"py-spy: {err.decode(errors='replace')[-500:]}", file=sys.stderr)
