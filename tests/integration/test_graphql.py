"""The GraphQL API through the real gateway, worker and Redis, with gql as the client:
queries, mutations, error codes, auth and the schema file. Streams: test_graphql_streams.py."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import pytest
import websockets
from gql import Client
from gql.transport.exceptions import TransportError, TransportQueryError
from gql.transport.httpx import HTTPXAsyncTransport
from graphql import build_schema, lexicographic_sort_schema, print_schema

from gateway.graphql import sdl
from tests.conftest import Stack
from tests.graphql_helpers import (
    JOB,
    LEGACY_WS,
    PATH,
    PROTOCOLS,
    START,
    TRANSPORT_WS,
    codes,
    http_client,
    messages,
    request,
    wait_for_job,
    ws_client,
)
from tests.helpers import directive, expected_text, new_tag
from tests.stack import create_api_key

COMPLETE = """
query Complete($messages: [ChatMessageInput!]!, $options: CompletionOptionsInput) {
  complete(messages: $messages, options: $options) {
    jobId content model provider providerModel finishReason
    usage { promptTokens completionTokens estimated }
    timings { queuedAt firstTokenAt totalMs }
  }
}"""


@pytest.fixture
def api_key(stack: Stack) -> str:
    """The stack's key; tests of refused keys mean nothing while every caller is let in."""
    if stack.api_key is None:
        pytest.skip("auth not enabled yet")
    return stack.api_key


@pytest.fixture
def raw(stack: Stack) -> Iterator[httpx.Client]:
    with stack.client() as client:
        yield client


async def test_complete_returns_the_whole_answer(stack: Stack) -> None:
    async with http_client(stack) as session:
        result = await session.execute(
            request(COMPLETE, messages=messages(directive(tokens=12)), options={"model": "fake"})
        )
        answer = result["complete"]
        assert answer["content"] == expected_text(12)
        assert (answer["model"], answer["provider"], answer["providerModel"]) == (
            "fake",
            "fake",
            "fake-model",
        )
        assert answer["finishReason"] == "stop"
        assert answer["usage"]["completionTokens"] == 12
        assert answer["timings"]["totalMs"] > 0
        job = await session.execute(request(JOB, id=answer["jobId"]))
        assert job["job"]["status"] == "SUCCEEDED"
        assert job["job"]["kind"] == "stream"
        assert job["job"]["result"]["content"] == expected_text(12)


def test_a_client_leaving_complete_cancels_its_job(stack: Stack, raw: httpx.Client) -> None:
    tag = new_tag()
    variables = {"messages": messages(directive(tokens=300, token_delay_ms=30, tag=tag))}
    with pytest.raises(httpx.ReadTimeout):
        raw.post(PATH, json={"query": COMPLETE, "variables": variables}, timeout=1.0)
    upstream = stack.fake.wait_for(tag, timeout=10)
    assert upstream["outcome"] == "client_closed"
    assert upstream["tokens_sent"] < 300


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_queries_work_over_websockets_too(stack: Stack, protocol: str) -> None:
    async with ws_client(stack, protocol) as session:
        result = await session.execute(request(COMPLETE, messages=messages(directive(tokens=3))))
    assert result["complete"]["content"] == expected_text(3)


async def test_catalogue_providers_models_and_health(stack: Stack) -> None:
    async with http_client(stack) as session:
        result = await session.execute(
            request(
                """{ listProviders listModels(provider: "fake")
                     models { id available route { provider model } }
                     providers { name health circuits { model state } }
                     health { status redis broker eventHub liveWorkers } }"""
            )
        )
        assert {"fake", "fake_backup", "demo"} <= set(result["listProviders"])
        assert "fake-model" in result["listModels"]
        chain = next(m for m in result["models"] if m["id"] == "chain")
        assert chain["route"] == [
            {"provider": "fake", "model": "fake-a"},
            {"provider": "fake_backup", "model": "fake-b"},
        ]
        assert {p["name"] for p in result["providers"]} == set(result["listProviders"])
        assert result["health"]["status"] == "ok"
        assert result["health"]["liveWorkers"] >= 1
        with pytest.raises(TransportQueryError) as refused:
            await session.execute(request('{ listModels(provider: "nobody") }'))
        assert codes(refused.value) == ["PROVIDER_NOT_FOUND"]


async def test_submit_and_cancel_a_background_job(stack: Stack) -> None:
    submit = """mutation Submit($messages: [ChatMessageInput!]!) {
      submitCompletion(messages: $messages) { id status kind model } }"""
    cancel = "mutation Cancel($id: ID!) { cancelCompletion(jobId: $id) { jobId status } }"
    async with http_client(stack) as session:
        body = messages(directive(tokens=300, token_delay_ms=30))
        job = (await session.execute(request(submit, messages=body)))["submitCompletion"]
        assert (job["kind"], job["model"]) == ("background", "fake")
        assert job["status"] in ("QUEUED", "RUNNING")
        cancelled = (await session.execute(request(cancel, id=job["id"])))["cancelCompletion"]
        assert cancelled["jobId"] == job["id"]
        assert cancelled["status"] in ("CANCELLED", "CANCELLING")
        # Once it has ended there is nothing left to cancel.
        await wait_for_job(session, job["id"], {"CANCELLED"})
        with pytest.raises(TransportQueryError) as again:
            await session.execute(request(cancel, id=job["id"]))
        assert codes(again.value) == ["JOB_FINISHED"]
        status = (await session.execute(request(JOB, id=job["id"])))["job"]["status"]
        assert status == "CANCELLED"


async def test_a_stream_id_is_the_job_id_and_is_used_once(stack: Stack) -> None:
    stream_id = f"s-{uuid.uuid4().hex}"
    body = messages(directive(tokens=2))
    async with http_client(stack) as session:
        started = await session.execute(
            request(START, messages=body, options={"streamId": stream_id})
        )
        assert started == {"startStreamCompletion": True}
        with pytest.raises(TransportQueryError) as taken:
            await session.execute(request(START, messages=body, options={"streamId": stream_id}))
        assert codes(taken.value) == ["CONFLICT"]
        for bad in ("short", "has spaces in it", "x" * 65):
            with pytest.raises(TransportQueryError) as invalid:
                await session.execute(request(START, messages=body, options={"streamId": bad}))
            assert codes(invalid.value) == ["INVALID_REQUEST"]
        with pytest.raises(TransportQueryError) as missing:
            await session.execute(request(START, messages=body))
        assert codes(missing.value) == ["INVALID_REQUEST"]
        assert (await session.execute(request(JOB, id=stream_id)))["job"]["id"] == stream_id


async def test_error_codes_from_the_shared_tree(stack: Stack) -> None:
    async with http_client(stack) as session:
        with pytest.raises(TransportQueryError) as unknown:
            await session.execute(
                request(COMPLETE, messages=messages("hi"), options={"model": "no-such-model"})
            )
        assert codes(unknown.value) == ["MODEL_NOT_FOUND"]
        with pytest.raises(TransportQueryError) as hot:
            await session.execute(
                request(COMPLETE, messages=messages("hi"), options={"temperature": 5.0})
            )
        assert codes(hot.value) == ["INVALID_REQUEST"]
        assert hot.value.errors is not None
        assert hot.value.errors[0]["extensions"]["details"][0]["loc"] == ["options", "temperature"]
        with pytest.raises(TransportQueryError) as failed:
            await session.execute(request(COMPLETE, messages=messages(directive(status=401))))
        assert codes(failed.value) == ["PROVIDER_REJECTED"]
        with pytest.raises(TransportQueryError) as nobody:
            await session.execute(request(JOB, id="no-such-job"))
        assert codes(nobody.value) == ["JOB_NOT_FOUND"]


def nested(fields: list[str], leaf: str) -> str:
    return "".join(f"{name} {{ " for name in fields) + leaf + " }" * len(fields)


TOO_DEEP = '{ __type(name: "Job") { ' + nested(["ofType"] * 16, "name") + " } }"
COMPLETIONS = (f"c{i}: complete(messages: []) {{ content }}" for i in range(10))
MANY_COMPLETIONS = "{ " + " ".join(COMPLETIONS) + " }"
INTROSPECTION_BOMB = "{ " + nested(["__schema", "types", *["fields", "type"] * 5], "name") + " }"


@pytest.mark.parametrize(
    ("document", "variables", "code"),
    [
        ("{ listProviders ", None, "GRAPHQL_PARSE_FAILED"),
        ("{ noSuchField }", None, "GRAPHQL_VALIDATION_FAILED"),
        ("query($p: String!) { listModels(provider: $p) }", {"p": 42}, "GRAPHQL_VALIDATION_FAILED"),
        (TOO_DEEP, None, "QUERY_TOO_COMPLEX"),
        (MANY_COMPLETIONS, None, "QUERY_TOO_COMPLEX"),
        (INTROSPECTION_BOMB, None, "QUERY_TOO_COMPLEX"),
        ("{ listProviders }" + " " * 20_000, None, "REQUEST_TOO_LARGE"),
    ],
)
def test_bad_documents_get_graphql_errors_never_a_500(
    raw: httpx.Client, document: str, variables: dict[str, object] | None, code: str
) -> None:
    response = raw.post(PATH, json={"query": document, "variables": variables})
    assert response.status_code in (200, 400)
    assert code in [e["extensions"]["code"] for e in response.json()["errors"]]


def test_a_body_that_is_not_json_gets_a_graphql_error(raw: httpx.Client) -> None:
    response = raw.post(PATH, content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "MALFORMED_BODY"


def test_graphiql_is_served_to_browsers(raw: httpx.Client) -> None:
    page = raw.get(PATH, headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()


async def test_the_served_schema_is_the_checked_in_sdl(stack: Stack) -> None:
    transport = HTTPXAsyncTransport(url=stack.base_url + PATH, headers=stack.auth_headers)
    client = Client(transport=transport, introspection_args={"schema_description": True})
    async with client as session:
        await session.fetch_schema()
        served = session.client.schema
    assert served is not None
    expected = lexicographic_sort_schema(build_schema(sdl()))
    assert print_schema(lexicographic_sort_schema(served)) == print_schema(expected)


def test_bad_key_over_http_is_unauthorized(raw: httpx.Client, api_key: str) -> None:
    for headers in ({}, {"Authorization": "Bearer lgw-0-nope"}, {"X-API-Key": "nope"}):
        response = httpx.post(
            raw.base_url.join(PATH), json={"query": "{ listProviders }"}, headers=headers
        )
        assert response.status_code == 401
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHORIZED"


async def close_code_after_init(url: str, protocol: str, payload: dict[str, str]) -> int | None:
    """The code the server closes with after this ``connection_init``."""
    subprotocols = [websockets.Subprotocol(protocol)]
    async with websockets.connect(url, subprotocols=subprotocols) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": payload}))
        try:
            while True:  # the legacy protocol first says why, in a connection_error
                await socket.recv()
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_bad_key_closes_the_socket_with_4403(
    stack: Stack, api_key: str, protocol: str
) -> None:
    url = stack.base_url.replace("http", "ws", 1) + PATH
    for payload in ({}, {"Authorization": "Bearer lgw-0-nope"}):
        assert await close_code_after_init(url, protocol, payload) == 4403
    with pytest.raises(TransportError):
        async with ws_client(stack, protocol, key="lgw-0-nope") as session:
            await session.execute(request("{ listProviders }"))


async def test_another_key_cannot_see_follow_or_cancel_a_stream(stack: Stack, api_key: str) -> None:
    stream_id = f"s-{uuid.uuid4().hex}"
    async with http_client(stack) as session:
        await session.execute(
            request(
                START,
                messages=messages(directive(tokens=50, token_delay_ms=20)),
                options={"streamId": stream_id},
            )
        )
    other = create_api_key(stack.base_url, "graphql other tenant")
    async with http_client(stack, key=other) as intruder:
        for document, variables in (
            (JOB, {"id": stream_id}),
            (
                "mutation($id: String) { cancelCompletion(streamId: $id) { status } }",
                {"id": stream_id},
            ),
        ):
            with pytest.raises(TransportQueryError) as hidden:
                await intruder.execute(request(document, **variables))
            assert codes(hidden.value) == ["JOB_NOT_FOUND"]
    async with ws_client(stack, TRANSPORT_WS, key=other) as intruder:
        with pytest.raises(TransportQueryError) as refused:
            async for _ in intruder.subscribe(
                request(
                    "subscription($id: String!) { streamCompletion(streamId: $id) { seq } }",
                    id=stream_id,
                )
            ):
                pass
        assert codes(refused.value) == ["JOB_NOT_FOUND"]
    assert LEGACY_WS in PROTOCOLS
