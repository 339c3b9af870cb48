"""The ``llm-gateway`` command: ``up`` runs everything, ``gateway`` and ``worker`` one part."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from gateway.cli.batch import batch_app
from gateway.cli.cache import cache_app
from gateway.cli.config import config_app
from gateway.cli.errors import CliError
from gateway.cli.keys import keys_app
from gateway.cli.options import ConfigOption
from gateway.cli.usage import usage
from shared.logs import configure_logging
from shared.settings import load_settings
from shared.tracing import Tracing

# A bug's traceback, yes, but without local variables: they hold admin and API keys.
app = typer.Typer(
    help="A queue-backed LLM gateway.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


@app.command()
def up(
    host: Annotated[str, typer.Option(help="address the gateway listens on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port of the gateway")] = 8000,
    config: ConfigOption = None,
    flower: Annotated[bool, typer.Option(help="start Flower too, when installed")] = True,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            file_okay=False,
            help="keep Redis, the keys and batch files here across restarts",
        ),
    ] = None,
) -> None:
    """Run Redis (unless REDIS_URL is set), the gateway, a worker and Flower, until Ctrl-C."""
    from gateway.cli.up import run_up

    raise typer.Exit(
        run_up(
            host=host,
            port=port,
            config=config,
            flower=flower,
            data_dir=data_dir,
            console=Console(),
        )
    )


@app.command()
def gateway(
    host: Annotated[str | None, typer.Option(help="listen address (default from settings)")] = None,
    port: Annotated[int | None, typer.Option(help="listen port (default from settings)")] = None,
    config: ConfigOption = None,
    log_level: Annotated[str, typer.Option(help="log level")] = "warning",
    access_log: Annotated[
        bool, typer.Option(help="log every request: method, route template, status, time")
    ] = False,
) -> None:
    """Run the HTTP gateway alone (production: behind a load balancer, several replicas)."""
    import uvicorn

    from gateway.app import create_app
    from gateway.http_protocol import HttpLimits, bounded_http

    settings = load_settings(config)
    limits = HttpLimits(
        max_header_bytes=settings.http_max_header_bytes,
        max_headers=settings.http_max_headers,
        head_timeout_s=settings.http_head_timeout_s,
        body_idle_timeout_s=settings.http_body_idle_timeout_s,
    )
    configure_logging(log_level, settings.log_format, "gateway")
    if access_log:
        logging.getLogger("gateway.access").setLevel(logging.INFO)
    tracing = Tracing.from_environment(os.environ, "llm-gateway")
    uvicorn.run(
        create_app(settings, tracing=tracing, access_log=access_log),
        host=host or settings.http_host,
        port=port if port is not None else settings.http_port,
        loop="uvloop",
        http=bounded_http(limits),
        log_level=log_level,
        # Ours (gateway.observe) names the route, not the path: a GET stream's query holds
        # its prompt. No log_config: uvicorn's lines go through the same JSON handler.
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=10,
    )
    tracing.shutdown()


@app.command()
def worker(
    config: ConfigOption = None,
    queues: Annotated[str | None, typer.Option(help="comma-separated queues to consume")] = None,
    concurrency: Annotated[
        int | None, typer.Option(help="jobs at once (default from settings)")
    ] = None,
    loglevel: Annotated[str, typer.Option(help="Celery log level")] = "INFO",
    quiet: Annotated[
        bool, typer.Option("--quiet", help="no start-up banner, no warning about running as root")
    ] = False,
) -> None:
    """Run one worker process: a Celery consumer whose jobs share one event loop."""
    from workers.main import run_worker

    settings = load_settings(config)
    configure_logging(loglevel, settings.log_format, "worker")
    raise typer.Exit(
        run_worker(
            settings,
            queues=queues.split(",") if queues else None,
            concurrency=concurrency,
            loglevel=loglevel,
            quiet=quiet,
            tracing=Tracing.from_environment(os.environ, "llm-gateway-worker"),
        )
    )


@app.command()
def schema() -> None:
    """Print the GraphQL schema (SDL) that /graphql serves."""
    from gateway.graphql import sdl

    typer.echo(sdl(), nl=False)


app.add_typer(keys_app, name="keys")
app.add_typer(batch_app, name="batch")
app.add_typer(cache_app, name="cache")
app.add_typer(config_app, name="config")
app.command("usage")(usage)


def main() -> None:
    try:
        app()
    except CliError as error:
        typer.echo(f"llm-gateway: {error.message}", err=True)
        sys.exit(int(error.exit_code))


if __name__ == "__main__":
    main()
