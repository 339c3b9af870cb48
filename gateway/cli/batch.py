"""``llm-gateway batch``: submit a JSONL file of requests, follow it, fetch its results.

These talk to a running gateway over HTTP with a client API key (``--url``/``--api-key`` or
``LLM_GATEWAY_URL``/``LLM_GATEWAY_API_KEY``), like any other client of the Batch API.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

batch_app = typer.Typer(help="Submit and follow batches of chat requests.", no_args_is_help=True)

ENDED = {"completed", "failed", "expired", "cancelled"}
POLL_S = 0.5

UrlOption = Annotated[
    str, typer.Option("--url", envvar="LLM_GATEWAY_URL", help="the gateway's base URL")
]
KeyOption = Annotated[
    str | None,
    typer.Option("--api-key", envvar="LLM_GATEWAY_API_KEY", help="a client API key"),
]
DEFAULT_URL = "http://127.0.0.1:8000"


@contextmanager
def _client(url: str, api_key: str | None) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    with httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=60) as client:
        yield client


def _json(response: httpx.Response) -> dict[str, Any]:
    """The answer's JSON; the gateway's error message (and exit code 1) for an error."""
    if response.is_error:
        try:
            message = response.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = response.text
        Console(stderr=True).print(f"[red]{response.status_code}: {message}[/]")
        raise typer.Exit(1)
    body: dict[str, Any] = response.json()
    return body


def _metadata(pairs: list[str]) -> dict[str, str] | None:
    metadata = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"metadata must be key=value, not {pair!r}")
        metadata[key] = value
    return metadata or None


@batch_app.command("submit")
def submit(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSONL requests")],
    wait: Annotated[bool, typer.Option(help="follow it with a progress bar until it ends")] = False,
    metadata: Annotated[list[str] | None, typer.Option(help="key=value, repeatable")] = None,
    window: Annotated[str, typer.Option(help="completion window")] = "24h",
    url: UrlOption = DEFAULT_URL,
    api_key: KeyOption = None,
) -> None:
    """Upload FILE and start a batch over it."""
    console = Console()
    with _client(url, api_key) as client:
        with file.open("rb") as handle:
            uploaded = _json(
                client.post(
                    "/v1/files",
                    files={"file": (file.name, handle, "application/jsonl")},
                    data={"purpose": "batch"},
                )
            )
        batch = _json(
            client.post(
                "/v1/batches",
                json={
                    "input_file_id": uploaded["id"],
                    "endpoint": "/v1/chat/completions",
                    "completion_window": window,
                    "metadata": _metadata(metadata or []),
                },
            )
        )
        console.print(f"batch: {batch['id']}  (file {uploaded['id']}, {uploaded['bytes']} bytes)")
        if not wait:
            return
        batch = _follow(client, batch["id"], console)
    _print_ending(console, batch)
    if batch["status"] == "failed":
        raise typer.Exit(1)


def _follow(client: httpx.Client, batch_id: str, console: Console) -> dict[str, Any]:
    """Poll the batch until it ends, showing done/failed/total and the rate."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[done]} done, {task.fields[failed]} failed / {task.fields[all]}"),
        TextColumn("{task.fields[rate]:.1f} req/s"),
        TimeElapsedColumn(),
    )
    started = time.monotonic()
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("validating", total=None, done=0, failed=0, all="?", rate=0.0)
        while True:
            batch = _json(client.get(f"/v1/batches/{batch_id}"))
            counts = batch["request_counts"]
            finished = counts["completed"] + counts["failed"]
            progress.update(
                task,
                description=batch["status"],
                total=counts["total"] or None,
                completed=finished,
                done=counts["completed"],
                failed=counts["failed"],
                all=counts["total"] or "?",
                rate=finished / max(time.monotonic() - started, 1e-6),
            )
            if batch["status"] in ENDED:
                return batch
            time.sleep(POLL_S)


def _print_ending(console: Console, batch: dict[str, Any]) -> None:
    console.print(f"batch {batch['id']}: {batch['status']}")
    for error in (batch.get("errors") or {}).get("data") or []:
        console.print(f"  line {error['line']}: {error['code']}: {error['message']}")
    if batch["output_file_id"] or batch["error_file_id"]:
        console.print(
            f"results: llm-gateway batch results {batch['id']} -o output.jsonl"
            + (" --errors errors.jsonl" if batch["error_file_id"] else "")
        )


@batch_app.command("status")
def status(batch_id: str, url: UrlOption = DEFAULT_URL, api_key: KeyOption = None) -> None:
    """Where a batch stands."""
    with _client(url, api_key) as client:
        batch = _json(client.get(f"/v1/batches/{batch_id}"))
    _print_batches([batch])
    _print_ending(Console(), batch)


@batch_app.command("list")
def list_batches(
    limit: Annotated[int, typer.Option(help="how many, newest first")] = 20,
    url: UrlOption = DEFAULT_URL,
    api_key: KeyOption = None,
) -> None:
    """Your batches, newest first."""
    with _client(url, api_key) as client:
        page = _json(client.get("/v1/batches", params={"limit": limit}))
    _print_batches(page["data"])


def _print_batches(batches: list[dict[str, Any]]) -> None:
    table = Table("id", "status", "total", "completed", "failed", "created", "output", "errors")
    for b in batches:
        counts = b["request_counts"]
        table.add_row(
            b["id"],
            b["status"],
            str(counts["total"]),
            str(counts["completed"]),
            str(counts["failed"]),
            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(b["created_at"])),
            b["output_file_id"] or "-",
            b["error_file_id"] or "-",
        )
    Console().print(table)


@batch_app.command("results")
def results(
    batch_id: str,
    output: Annotated[Path, typer.Option("-o", "--output", help="where the output lines go")],
    errors: Annotated[
        Path | None, typer.Option("--errors", help="where the error lines go")
    ] = None,
    url: UrlOption = DEFAULT_URL,
    api_key: KeyOption = None,
) -> None:
    """Download a batch's output file (and its error file)."""
    console = Console()
    with _client(url, api_key) as client:
        batch = _json(client.get(f"/v1/batches/{batch_id}"))
        if batch["status"] not in ENDED:
            console.print(f"[yellow]batch {batch_id} is {batch['status']}: no results yet[/]")
            raise typer.Exit(1)
        for file_id, path in ((batch["output_file_id"], output), (batch["error_file_id"], errors)):
            if path is None:
                continue
            lines = _download(client, file_id, path)
            console.print(f"{path}: {lines} lines")


def _download(client: httpx.Client, file_id: str | None, path: Path) -> int:
    """Write the file's content to ``path`` (empty when there is no such file)."""
    lines = 0
    with path.open("wb") as out:
        if file_id is None:
            return 0
        with client.stream("GET", f"/v1/files/{file_id}/content") as response:
            if response.is_error:
                response.read()
                _json(response)
            for chunk in response.iter_bytes():
                lines += chunk.count(b"\n")
                out.write(chunk)
    return lines


@batch_app.command("cancel")
def cancel(batch_id: str, url: UrlOption = DEFAULT_URL, api_key: KeyOption = None) -> None:
    """Cancel a batch: no new requests start; finished results are kept."""
    with _client(url, api_key) as client:
        batch = _json(client.post(f"/v1/batches/{batch_id}/cancel"))
    Console().print(f"batch {batch['id']}: {batch['status']}")
