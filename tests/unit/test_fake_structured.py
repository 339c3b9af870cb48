"""Structured output: JSON that matches the requested schema (parsed by the SDKs' own helpers),
and the refusals of providers that do not take a form."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Literal, cast

import anthropic
import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam
from openai.types.shared_params import ResponseFormatJSONSchema
from pydantic import BaseModel

from tests.fakes.provider import FakeProvider
from tests.fakes.schema_gen import example, schema_problem, strict_problem
from tests.unit.fake_support import (
    ANTHROPIC_PATH,
    DEEPSEEK_PATH,
    KEY,
    OPENAI_PATH,
    OPENROUTER_PATH,
    anthropic_body,
    chat_body,
    data_chunks,
    directive,
    post,
)


class Address(BaseModel):
    street: str
    zip_code: int


class Person(BaseModel):
    name: str
    age: int
    score: float
    active: bool
    tags: list[str]
    role: Literal["admin", "user"]
    address: Address
    nickname: str | None = None


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProvider]:
    with FakeProvider(require_key=KEY) as provider:
        yield provider


def json_schema_format(schema: dict[str, Any], strict: bool = False) -> dict[str, Any]:
    return {
        "type": "json_schema",
        "json_schema": {"name": "person", "schema": schema, "strict": strict},
    }


def error_message(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    message: str = response.json()["error"]["message"]
    return message


def test_generator_matches_pydantic_schemas() -> None:
    schema = Person.model_json_schema()  # uses $defs / $ref and anyOf
    assert schema_problem(schema) is None
    Person.model_validate(example(schema))
    bounded = {
        "type": "object",
        "properties": {
            "n": {"type": "integer", "minimum": 5, "multipleOf": 3},
            "s": {"type": "string", "minLength": 12, "format": "email"},
            "xs": {"type": "array", "items": {"type": "number"}, "minItems": 2},
        },
    }
    value = example(bounded)
    assert value["n"] == 6 and len(value["s"]) >= 12 and len(value["xs"]) == 2
    assert strict_problem(schema) is not None  # pydantic leaves objects open


def test_openai_sdk_parse(fake: FakeProvider) -> None:
    client = openai.OpenAI(base_url=fake.openai_base_url, api_key=KEY, max_retries=0)
    parsed = client.chat.completions.parse(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "who?"}],
        response_format=Person,  # the SDK sends a strict json_schema and parses the answer
    )
    person = parsed.choices[0].message.parsed
    assert isinstance(person, Person)
    assert person.role == "admin" and person.address.street == "street"
    messages: list[ChatCompletionMessageParam] = [
        {"role": "user", "content": "who? " + directive(chunk_chars=4)}
    ]
    raw = client.chat.completions.create(
        model="m",
        messages=messages,
        response_format=cast(
            ResponseFormatJSONSchema, json_schema_format(Person.model_json_schema())
        ),
        stream=True,
    )
    text = "".join(c.choices[0].delta.content or "" for c in raw if c.choices)
    Person.model_validate_json(text)


def test_json_object_and_truncation(fake: FakeProvider) -> None:
    body = chat_body(
        "answer in json " + directive(tokens=3), response_format={"type": "json_object"}
    )
    content = post(fake, OPENAI_PATH, body).json()["choices"][0]["message"]["content"]
    assert json.loads(content) == {"answer": "t1 t2 t3"}
    no_word = chat_body("answer please", response_format={"type": "json_object"})
    assert error_message(post(fake, OPENAI_PATH, no_word)) == (
        "'messages' must contain the word 'json' in some form, to use 'response_format' of type "
        "'json_object'."
    )
    cut = chat_body(
        "json " + directive(finish_reason="length"), response_format={"type": "json_object"}
    )
    choice = post(fake, OPENAI_PATH, cut).json()["choices"][0]
    assert choice["finish_reason"] == "length"
    with pytest.raises(json.JSONDecodeError):
        json.loads(choice["message"]["content"])
    fixed = chat_body(
        "json " + directive(json_output={"exact": [1, 2]}), response_format={"type": "json_object"}
    )
    assert (
        post(fake, OPENAI_PATH, fixed).json()["choices"][0]["message"]["content"]
        == '{"exact":[1,2]}'
    )


def test_openai_schema_errors(fake: FakeProvider) -> None:
    loose = Person.model_json_schema()
    strict = post(
        fake, OPENAI_PATH, chat_body("x", response_format=json_schema_format(loose, strict=True))
    )
    assert strict.json()["error"]["code"] == "invalid_json_schema"
    assert error_message(strict).startswith(
        "Invalid schema for response_format 'person': In context=("
    )
    nameless = {"type": "json_schema", "json_schema": {"schema": loose}}
    assert error_message(post(fake, OPENAI_PATH, chat_body("x", response_format=nameless))) == (
        "Missing required parameter: 'response_format.json_schema.name'."
    )


def test_deepseek_forms(fake: FakeProvider) -> None:
    schema = post(
        fake,
        DEEPSEEK_PATH,
        chat_body("json", response_format=json_schema_format({"type": "object"})),
    )
    assert schema.json()["error"] == {
        "message": "This response_format type is unavailable now",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_request_error",
    }
    no_word = post(fake, DEEPSEEK_PATH, chat_body("hello", response_format={"type": "json_object"}))
    assert error_message(no_word) == (
        "Prompt must contain the word 'json' in some form to use 'response_format' of type "
        "'json_object'"
    )
    ok = post(
        fake,
        DEEPSEEK_PATH,
        chat_body("give json", stream=True, response_format={"type": "json_object"}),
    )
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in data_chunks(ok.content))
    assert "answer" in json.loads(text)


def test_openrouter_passes_json_schema(fake: FakeProvider) -> None:
    body = chat_body("x", response_format=json_schema_format(Person.model_json_schema()))
    content = post(fake, OPENROUTER_PATH, body).json()["choices"][0]["message"]["content"]
    Person.model_validate_json(content)


def test_anthropic_output_config(fake: FakeProvider) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "temp": {"type": "number"}},
        "required": ["city", "temp"],
        "additionalProperties": False,
    }
    api = anthropic.Anthropic(base_url=fake.anthropic_base_url, api_key=KEY, max_retries=0)
    message = api.messages.create(
        model="claude-sonnet-4-5",
        max_tokens=256,
        messages=[{"role": "user", "content": "weather"}],
        extra_body={"output_config": {"format": {"type": "json_schema", "schema": schema}}},
    )
    block = message.content[0]
    assert block.type == "text"
    assert json.loads(block.text) == {"city": "city", "temp": 1.5}
    open_schema = dict(schema, additionalProperties=True)
    body = anthropic_body(
        "w", output_config={"format": {"type": "json_schema", "schema": open_schema}}
    )
    assert error_message(post(fake, ANTHROPIC_PATH, body)) == (
        "output_config.format.schema: For 'object' type, 'additionalProperties' must be explicitly "
        "set to false"
    )
    legacy = anthropic_body("w", output_format={"type": "json_schema", "schema": schema})
    assert (
        error_message(post(fake, ANTHROPIC_PATH, legacy))
        == "output_format: Extra inputs are not permitted"
    )
    beta = {
        "x-api-key": KEY,
        "anthropic-version": "2023-06-01",
        "anthropic-beta": "structured-outputs-2025-11-13",
    }
    accepted = post(fake, ANTHROPIC_PATH, legacy, beta).json()
    assert json.loads(accepted["content"][0]["text"])["city"] == "city"
