"""Embeddings through the queue with the official openai SDK: vectors in order, both encodings,
the response cache, capability refusals and OpenAI's error shape."""

from __future__ import annotations

import math

import openai
import pytest
from openai import OpenAI

from tests.conftest import Stack
from tests.helpers import directive, new_tag
from tests.openai_helpers import fresh_circuits, sdk

__all__ = ["fresh_circuits", "sdk"]  # fixtures these tests use
pytestmark = pytest.mark.usefixtures("fresh_circuits")


def test_vectors_come_in_input_order_with_usage(sdk: OpenAI, stack: Stack) -> None:
    tag = new_tag()
    texts = [f"first {directive(tag=tag)}", "second", "third"]
    # The SDK asks for base64 and decodes it: the gateway's own encoding reaches it intact.
    answer = sdk.embeddings.create(model="embed", input=texts)
    assert [item.index for item in answer.data] == [0, 1, 2]
    assert all(len(item.embedding) == 1536 for item in answer.data)
    assert math.isclose(sum(x * x for x in answer.data[1].embedding), 1.0, rel_tol=1e-3)
    assert answer.model == "embed"
    assert answer.usage.prompt_tokens > 0
    assert stack.fake.wait_for(tag)["model"] == "text-embedding-3-small"

    floats = sdk.embeddings.create(model="embed", input=texts[1], encoding_format="float")
    assert floats.data[0].embedding == pytest.approx(answer.data[1].embedding, abs=1e-6)


def test_dimensions_and_token_arrays(sdk: OpenAI) -> None:
    short = sdk.embeddings.create(model="embed", input=[[1, 2, 3], [4, 5]], dimensions=64)
    assert [len(item.embedding) for item in short.data] == [64, 64]


def test_a_repeated_embedding_is_answered_from_the_cache(sdk: OpenAI, stack: Stack) -> None:
    tag = new_tag()
    text = f"cache me {directive(tag=tag)}"
    first = sdk.embeddings.with_raw_response.create(model="embed-cached", input=text)
    second = sdk.embeddings.with_raw_response.create(model="embed-cached", input=text)
    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("MISS", "HIT")
    assert second.parse().data[0].embedding == first.parse().data[0].embedding
    assert len(stack.fake.requests(tag)) == 1


def test_a_model_that_serves_no_embeddings_is_refused_without_a_call(sdk: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        sdk.embeddings.create(model="ds-chat", input="hello")
    assert raised.value.code == "capability_unsupported"
    assert "embeddings" in raised.value.message


@pytest.mark.parametrize(
    ("options", "param"),
    [
        ({"input": []}, "input"),
        ({"input": "x", "encoding_format": "hex"}, "encoding_format"),
        ({"input": "x", "dimensions": 0}, "dimensions"),
        ({"input": "x", "colour": 1}, "colour"),
    ],
)
def test_bad_input_is_a_400_naming_the_param(
    sdk: OpenAI, options: dict[str, object], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        sdk.post("/embeddings", body={"model": "embed", **options}, cast_to=object)
    assert raised.value.param == param
