"""Embeddings on the fake: the openai SDK's default base64 request, floats, dimensions, token
arrays, errors, and the providers that have no embeddings endpoint."""

from __future__ import annotations

import base64
import math
import struct
from collections.abc import Iterator

import httpx
import openai
import pytest

from tests.fakes.provider import FakeProvider
from tests.unit.fake_support import ANTHROPIC_HEADERS, AUTH, KEY, directive

EMBED = "/openai/v1/embeddings"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProvider]:
    with FakeProvider(require_key=KEY) as provider:
        yield provider


def sdk(fake: FakeProvider) -> openai.OpenAI:
    return openai.OpenAI(base_url=fake.openai_base_url, api_key=KEY, max_retries=0)


def raw(fake: FakeProvider, body: dict[str, object], path: str = EMBED) -> httpx.Response:
    return httpx.post(fake.base_url + path, json=body, headers=AUTH, timeout=10)


def test_sdk_default_base64_round_trip(fake: FakeProvider) -> None:
    client = sdk(fake)
    result = client.embeddings.create(model="text-embedding-3-small", input=["hello world", "bye"])
    assert [d.index for d in result.data] == [0, 1]
    vectors = [d.embedding for d in result.data]
    assert all(len(v) == 1536 for v in vectors)
    assert math.isclose(sum(x * x for x in vectors[0]), 1.0, rel_tol=1e-5)
    assert result.usage.prompt_tokens == result.usage.total_tokens == 3
    request = fake.requests()[-1]
    assert request["body"]["encoding_format"] == "base64"  # what the SDK asks for by default
    floats = client.embeddings.create(
        model="text-embedding-3-small", input="hello world", encoding_format="float"
    )
    assert floats.data[0].embedding == vectors[0]  # identical input, identical vector


def test_wire_encodings_and_dimensions(fake: FakeProvider) -> None:
    body: dict[str, object] = {"model": "text-embedding-3-large", "input": "abc", "dimensions": 8}
    as_float = raw(fake, body | {"encoding_format": "float"}).json()
    vector = as_float["data"][0]["embedding"]
    assert (
        len(vector) == 8
        and as_float["object"] == "list"
        and as_float["model"] == "text-embedding-3-large"
    )
    encoded = raw(fake, body | {"encoding_format": "base64"}).json()["data"][0]["embedding"]
    assert list(struct.unpack("<8f", base64.b64decode(encoded))) == vector  # float32 little-endian
    full = raw(fake, {"model": "text-embedding-3-large", "input": "abc"}).json()["data"][0][
        "embedding"
    ]
    norm = math.sqrt(sum(x * x for x in full[:8]))
    assert [round(x / norm, 5) for x in full[:8]] == [round(x, 5) for x in vector]  # a prefix
    tokens = raw(fake, {"model": "text-embedding-3-small", "input": [[1, 2, 3], [4, 5]]}).json()
    assert tokens["usage"] == {"prompt_tokens": 5, "total_tokens": 5}
    assert raw(fake, {"model": "m", "input": [7, 8, 9]}).json()["usage"]["prompt_tokens"] == 3


def test_errors(fake: FakeProvider) -> None:
    empty = raw(fake, {"model": "text-embedding-3-small", "input": ""})
    assert empty.status_code == 400
    assert empty.json()["error"]["message"].startswith("'$.input' is invalid.")
    bad_format = raw(
        fake, {"model": "text-embedding-3-small", "input": "x", "encoding_format": "hex"}
    )
    assert bad_format.json()["error"]["param"] == "encoding_format"
    ada = raw(fake, {"model": "text-embedding-ada-002", "input": "x", "dimensions": 64})
    assert ada.json()["error"]["message"] == "This model does not support specifying dimensions."
    vllm = raw(
        fake,
        {
            "model": "BAAI/bge-m3",
            "input": "x " + directive(error_style="vllm_flat"),
            "dimensions": 64,
        },
    )
    assert vllm.json() == {
        "object": "error",
        "message": 'Model "BAAI/bge-m3" does not support matryoshka representation, changing '
        "output dimensions will lead to poor results.",
        "type": "BadRequestError",
        "param": None,
        "code": 400,
    }
    limited = raw(fake, {"model": "m", "input": "x " + directive(status=429, retry_after=1)})
    assert limited.status_code == 429 and limited.headers["retry-after"] == "1"
    with pytest.raises(ValueError, match="No embedding data received"):
        sdk(fake).embeddings.create(model="m", input="x " + directive(empty_data=True))
    assert httpx.post(fake.base_url + EMBED, json={"model": "m", "input": "x"}).status_code == 401


def test_vllm_shape_and_openrouter(fake: FakeProvider) -> None:
    vllm = raw(fake, {"model": "bge", "input": "x " + directive(error_style="vllm")}).json()
    assert vllm["id"].startswith("embd-") and "created" in vllm
    assert (
        vllm["usage"]["completion_tokens"] == 0 and vllm["usage"]["prompt_tokens_details"] is None
    )
    routed = raw(
        fake,
        {"model": "openai/text-embedding-3-small", "input": "x y"},
        "/openrouter/api/v1/embeddings",
    )
    assert routed.json()["usage"]["is_byok"] is False and "cost" in routed.json()["usage"]


def test_no_embeddings_at_deepseek_or_anthropic(fake: FakeProvider) -> None:
    deepseek = raw(fake, {"model": "deepseek-chat", "input": "x"}, "/deepseek/embeddings")
    assert deepseek.status_code == 404
    assert deepseek.json() == {"error_msg": "Not Found. Please check the configuration."}
    claude = httpx.post(
        fake.base_url + "/anthropic/v1/embeddings", json={"input": "x"}, headers=ANTHROPIC_HEADERS
    )
    assert claude.status_code == 404
    assert claude.json()["error"]["type"] == "not_found_error"
    assert claude.json()["request_id"] == claude.headers["request-id"]
    assert fake.requests()[-1]["status"] == 404  # recorded: a test can see the call was made
