"""Where the CPU goes, from the py-spy profiles ``python -m bench.cpu --profile DIR`` records.

Run from the repository root:  python -m bench.pyspy_summary DIR/json-worker.txt [...] [--top N]

For each profile (py-spy's raw format: collapsed stacks, one thread per root): the share of
each thread, then over the samples where Python code runs, the share of each subsystem (self:
the leaf frame's; total: anywhere on the stack), the top functions by self time, and the code
paths (the innermost frame of the project's own code, else the callback the event loop ran).

py-spy counts a thread as active whenever the kernel says it is runnable, so time spent in a
syscall, or waiting for a core after one (a busy machine, or a wake-up handing the core to the
process just woken), lands on the Python frame that made the call. Such leaves (a socket write,
the event loop's own poll, a blocking Redis read) are counted apart, as "in syscalls or waiting",
and left out of the percentages; ``perf record -e cpu-clock`` tells how much of it is CPU.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")

# (subsystem, path fragments), first match wins.
SUBSYSTEMS = [
    ("redis-py parsing", ("redis/_parsers/",)),
    ("redis-py connection", ("redis/asyncio/connection.py", "redis/connection.py")),
    ("redis-py client/commands", ("redis/",)),
    ("httpcore", ("httpcore/",)),
    ("httpx", ("httpx/",)),
    ("h11", ("h11/",)),
    ("anyio", ("anyio/",)),
    ("kombu", ("kombu/",)),
    ("celery", ("celery/",)),
    ("billiard/vine/amqp", ("billiard/", "vine/", "amqp/")),
    ("pydantic", ("pydantic/", "pydantic_core/")),
    ("uvicorn", ("uvicorn/",)),
    ("starlette", ("starlette/",)),
    ("fastapi", ("fastapi/",)),
    ("prometheus_client", ("prometheus_client/",)),
    ("logging", ("logging/",)),
    ("asyncio", ("asyncio/",)),
    ("threads/futures/queue", ("threading.py", "concurrent/futures", "queue.py")),
    ("json (stdlib)", ("json/",)),
    ("gateway/", ("gateway/",)),
    ("shared/", ("shared/",)),
    ("workers/", ("workers/",)),
]

# Leaves that sit in a syscall (or wait for a core after one): see the module's docstring.
WAITING = {
    ("Runner.run", "asyncio/runners.py"),
    ("Thread.run", "threading.py"),
    ("StreamWriter.writelines", "asyncio/streams.py"),
    ("RequestResponseCycle.send", "uvicorn/protocols/http/httptools_impl.py"),
    ("AbstractConnection.send_packed_command", "redis/connection.py"),
    ("_HiredisParser.read_from_socket", "redis/_parsers/hiredis.py"),
    ("_socket_can_read", "redis/_parsers/hiredis.py"),
    ("_epoll.poll", "kombu/utils/eventio.py"),
    ("is_socket_readable", "httpcore/_utils.py"),
    ("SocketStream.send", "anyio/_backends/_asyncio.py"),
    ("Condition.wait", "threading.py"),
    ("Condition.notify", "threading.py"),
    ("_worker", "concurrent/futures/thread.py"),
}
# The frames an event loop runs callbacks from; a code path starts below the last of them.
LOOP_FRAMES = {"Runner.run", "Thread.run", "Hub.create_loop", "_worker"}
PROJECT = ("gateway/", "shared/", "workers/")
# Project frames under which everything runs (the command line, the body-size middleware).
PROJECT_ROOTS = ("gateway/cli/", "workers/main.py", "gateway/limits.py")

Frame = tuple[str, str]  # function, file


def subsystem(file: str) -> str:
    for name, fragments in SUBSYSTEMS:
        if any(fragment in file for fragment in fragments):
            return name
    return "other (stdlib, libraries)"


def thread_name(root: str) -> str:
    name = re.sub(r"^(thread|process) \(\d+\):?\s*", "", root).strip()
    return "pool threads" if name.startswith("ThreadPoolExecutor") else name or "?"


@dataclass(frozen=True)
class Stack:
    thread: str
    frames: list[Frame]
    count: int


def read_stacks(path: str) -> Iterator[Stack]:
    with open(path) as lines:
        for line in lines:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not count.isdigit():  # a torn sample (py-spy --nonblocking)
                continue
            names = stack.split(";")
            thread = names.pop(0) if names and names[0].startswith(("thread", "process")) else ""
            frames = []
            for name in names:
                match = FRAME.match(name)
                frames.append((match["func"], match["file"]) if match else (name, ""))
            yield Stack(thread_name(thread), frames, int(count))


def code_path(frames: list[Frame]) -> str:
    start = max((i + 1 for i, (func, _) in enumerate(frames) if func in LOOP_FRAMES), default=0)
    body = frames[start:]
    for func, file in reversed(body):
        if file.startswith(PROJECT) and not file.startswith(PROJECT_ROOTS):
            return f"{func} ({file})"
    return f"(library) {body[0][0]} ({body[0][1]})" if body else "(event loop)"


def summarise(path: str, top: int) -> None:
    stacks = list(read_stacks(path))
    total = sum(s.count for s in stacks)
    threads: Counter[str] = Counter()
    waiting: Counter[str] = Counter()
    running_threads: Counter[str] = Counter()
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    paths: Counter[str] = Counter()
    path_leaves: dict[str, Counter[str]] = {}
    for stack in stacks:
        threads[stack.thread] += stack.count
        if not stack.frames:
            continue
        leaf = stack.frames[-1]
        if leaf in WAITING:
            waiting[f"{leaf[0]} ({leaf[1]})"] += stack.count
            continue
        running_threads[stack.thread] += stack.count
        own[subsystem(leaf[1])] += stack.count
        for name in {subsystem(file) for _, file in stack.frames}:
            anywhere[name] += stack.count
        functions[f"{leaf[0]} ({leaf[1]})"] += stack.count
        key = f"{stack.thread}: {code_path(stack.frames)}"
        paths[key] += stack.count
        path_leaves.setdefault(key, Counter())[subsystem(leaf[1])] += stack.count
    running = max(sum(running_threads.values()), 1)
    total = max(total, 1)

    def pct(value: int, whole: int) -> str:
        return f"{100 * value / whole:5.1f}%"

    print(f"\n== {path}: {total} samples")
    print("  threads:", ", ".join(f"{t} {pct(n, total)}" for t, n in threads.most_common(5)))
    print(f"  in syscalls or waiting for a core: {pct(total - running, total)}")
    for name, n in waiting.most_common(5):
        print(f"    {pct(n, total)}  {name}")
    print(f"  Python running ({running} samples), by thread:")
    for name, n in running_threads.most_common(5):
        print(f"    {pct(n, running)}  {name}")
    print("  subsystems (self / total):")
    for name, n in own.most_common():
        print(f"    {pct(n, running)} {pct(anywhere[name], running)}  {name}")
    print(f"  top {top} functions by self time:")
    for name, n in functions.most_common(top):
        print(f"    {pct(n, running)}  {name}")
    print(f"  top {top} code paths (innermost project frame, else the loop's callback):")
    for name, n in paths.most_common(top):
        leaves = ", ".join(f"{s} {100 * k / n:.0f}%" for s, k in path_leaves[name].most_common(3))
        print(f"    {pct(n, running)}  {name}   [{leaves}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("profiles", nargs="+", help="py-spy raw profiles (bench.cpu --profile)")
    parser.add_argument("--top", type=int, default=20, help="rows of functions and code paths")
    options = parser.parse_args()
    for path in options.profiles:
        summarise(path, options.top)


if __name__ == "__main__":
    main()
