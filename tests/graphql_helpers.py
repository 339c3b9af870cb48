"""GraphQL clients for the integration tests: gql over HTTP and over both WebSocket protocols."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager
from typing import Any

from gql import Client, GraphQLRequest
from gql.client import AsyncClientSession
from gql.transport.exceptions import TransportQueryError
from gql.transport.httpx import HTTPXAsyncTransport
from gql.transport.websockets import WebsocketsTransport

from tests.conftest import Stack

PATH = "/graphql"
TRANSPORT_WS = "graphql-transport-ws"  # the graphql-ws library's protocol
LEGACY_WS = "graphql-ws"  # subscriptions-transport-ws (Apollo's legacy protocol)
PROTOCOLS = [TRANSPORT_WS, LEGACY_WS]

EVENT_FIELDS = """
  jobId seq type content reasoning done finishReason provider model
  usage { promptTokens completionTokens totalTokens }
  fallback { code nextProvider }
  error { code message retryable delivered { deltas contentChars } }
"""
STREAM = f"""
subscription Stream($id: String!, $after: Int) {{
  streamCompletion(streamId: $id, afterSeq: $after) {{ {EVENT_FIELDS} }}
}}"""
COMPLETE_STREAM = f"""
subscription CompleteStream($messages: [ChatMessageInput!]!, $options: CompletionOptionsInput) {{
  completeStream(messages: $messages, options: $options) {{ {EVENT_FIELDS} }}
}}"""
START = """
mutation Start($messages: [ChatMessageInput!]!, $options: CompletionOptionsInput) {
  startStreamCompletion(messages: $messages, options: $options)
}"""
JOB = "query Job($id: ID!) { job(id: $id) { id status kind lastSeq result { content } } }"


def bearer(key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"} if key else {}


def http_client(stack: Stack, key: str | None = None) -> Client:
    headers = bearer(key) if key is not None else stack.auth_headers
    return Client(transport=HTTPXAsyncTransport(url=stack.base_url + PATH, headers=headers))


def ws_client(stack: Stack, protocol: str, key: str | None = None) -> Client:
    transport = WebsocketsTransport(
        url=stack.base_url.replace("http", "ws", 1) + PATH,
        subprotocols=[protocol],
        init_payload=bearer(key if key is not None else stack.api_key),
    )
    return Client(transport=transport)


def request(document: str, **variables: Any) -> GraphQLRequest:
    return GraphQLRequest(document, variable_values=variables or None)


def messages(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


async def collect(
    session: AsyncClientSession,
    document: str,
    stop_after_deltas: int | None = None,
    **variables: Any,
) -> list[dict[str, Any]]:
    """A subscription's items, stopped (unsubscribed) after ``stop_after_deltas`` deltas."""
    items: list[dict[str, Any]] = []
    async with aclosing(session.subscribe(request(document, **variables))) as results:
        async for result in results:
            item = next(iter(result.values()))
            items.append(item)
            deltas = sum(i["type"] == "DELTA" for i in items)
            if stop_after_deltas is not None and deltas >= stop_after_deltas:
                break
    return items


@asynccontextmanager
async def ws_session(stack: Stack, protocol: str) -> AsyncIterator[AsyncClientSession]:
    async with ws_client(stack, protocol) as session:
        yield session


def text_of(items: list[dict[str, Any]]) -> str:
    return "".join(i["content"] or "" for i in items if i["type"] == "DELTA")


def codes(error: TransportQueryError) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in error.errors or []]


async def wait_for_job(
    session: AsyncClientSession,
    job_id: str,
    statuses: set[str],
    timeout_s: float = 15,
    *,
    min_last_seq: int = 0,
) -> dict[str, Any]:
    """The job once its status is one of ``statuses`` (and it has ``min_last_seq`` events)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        job: dict[str, Any] = (await session.execute(request(JOB, id=job_id)))["job"]
        if job["status"] in statuses and job["lastSeq"] >= min_last_seq:
            return job
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"job {job_id} stayed {job['status']}, wanted {statuses}")
        await asyncio.sleep(0.05)
