"""Query resolvers: a whole completion, the catalogue, health and one job."""

from __future__ import annotations

import asyncio
from typing import Any

from ariadne import QueryType

from gateway.admission import admit
from gateway.completions import start_session
from gateway.graphql.context import Info, context_of
from gateway.graphql.inputs import completion_input, embedding_input
from gateway.graphql.outputs import completion_response, embeddings_output, job_output
from gateway.graphql.running import admitted
from gateway.health import health_report
from gateway.session import client_gone
from shared.errors import JobCancelled, ProviderNotFound
from shared.jobs import Delivery

query = QueryType()


@query.field("complete")
async def resolve_complete(
    _: None,
    info: Info,
    messages: list[dict[str, Any]],
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    ctx = context_of(info)
    ask = completion_input(messages, options)
    # With a streamId a subscription may follow the job live; without, only this query reads it.
    delivery = Delivery.LIVE if ask.stream_id is not None else Delivery.WHOLE
    admission = await admitted(ctx, ask, "stream", delivery)
    # A client that goes away (an HTTP disconnect, or its WebSocket operation stopped) cancels
    # the job: nobody would read the answer.
    session = await start_session(ctx.gateway, admission, exclusive=ask.stream_id is not None)
    job = await session.result(client_gone(ctx.connection))
    if job is None:
        raise JobCancelled("the client went away")
    return completion_response(job)


@query.field("embed")
async def resolve_embed(
    _: None, info: Info, input: list[str], options: dict[str, Any] | None = None
) -> dict[str, Any]:
    ctx = context_of(info)
    request = embedding_input(input, options)
    admission = await admit(
        ctx.gateway, ctx.principal, request, kind="stream", delivery=Delivery.WHOLE
    )
    session = await start_session(ctx.gateway, admission)
    job = await session.result(client_gone(ctx.connection))
    if job is None:
        raise JobCancelled("the client went away")
    return embeddings_output(job)


@query.field("listProviders")
def resolve_list_providers(_: None, info: Info) -> list[str]:
    return list(context_of(info).gateway.settings.providers)


@query.field("listModels")
def resolve_list_models(_: None, info: Info, provider: str) -> list[str]:
    gateway = context_of(info).gateway
    if provider not in gateway.settings.providers:
        raise ProviderNotFound(f"no provider {provider!r}; listProviders lists them")
    return gateway.catalog.configured_models(provider)


@query.field("models")
def resolve_models(_: None, info: Info) -> list[dict[str, Any]]:
    settings = context_of(info).gateway.settings
    enabled = set(settings.enabled_models())
    return [
        {
            "id": name,
            "description": model.description,
            "available": name in enabled,
            "route": [step.model_dump() for step in model.route],
        }
        for name, model in settings.models.items()
    ]


@query.field("providers")
async def resolve_providers(_: None, info: Info) -> list[dict[str, Any]]:
    gateway = context_of(info).gateway
    names = list(gateway.settings.providers)
    return list(await asyncio.gather(*(gateway.catalog.report(name) for name in names)))


@query.field("health")
async def resolve_health(_: None, info: Info) -> dict[str, Any]:
    gateway = context_of(info).gateway
    report = await health_report(gateway)
    checks = report["checks"]
    return {
        "status": "ok" if report["ok"] else "degraded",
        "redis": checks["redis"]["ok"],
        "broker": checks["broker"]["ok"],
        "event_hub": gateway.hub.healthy,
        "live_workers": checks["workers"].get("live", 0),
        "providers": [{"name": n, "health": h} for n, h in report["providers"].items()],
    }


@query.field("job")
async def resolve_job(_: None, info: Info, id: str) -> dict[str, Any]:
    ctx = context_of(info)
    return job_output(await ctx.gateway.load(id, owner=ctx.principal.key_id))
