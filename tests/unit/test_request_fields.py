"""The chat request's fields are declared once (``shared.chat.FrontEnds``); each front end's
shape is derived from that declaration, and the checked-in GraphQL SDL agrees with it."""

from __future__ import annotations

import types
import typing
from typing import Any

import pytest
from graphql import GraphQLInputObjectType, build_schema, get_named_type, is_list_type
from starlette.datastructures import QueryParams

from gateway.graphql import sdl
from gateway.graphql.inputs import completion_input
from gateway.query_chat import chat_from_query
from shared.chat import CacheControl, ChatRequest, front_end_fields
from shared.content import Tool
from shared.errors import InvalidRequest
from shared.openai_format import chat_request_from_openai

GRAPHQL_SCALARS = {float: "Float", int: "Int", str: "String", bool: "Boolean"}
INPUT_TYPES = {CacheControl: "CacheControlInput", Tool: "ToolInput"}


def core_type(annotation: Any) -> tuple[Any, bool]:
    """(the type inside Optional/list, whether a list is accepted)."""
    union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    arms = typing.get_args(annotation) if union else (annotation,)
    arms = tuple(a for a in arms if a is not type(None))
    listed = [a for a in arms if typing.get_origin(a) is list]
    if len(arms) > 1 and not listed:
        return typing.Union, False  # one of several shapes (a name, or an object)
    inner = typing.get_args(listed[0])[0] if listed else arms[0]
    while typing.get_origin(inner) is typing.Annotated:
        inner = typing.get_args(inner)[0]
    return (typing.get_origin(inner) or inner), bool(listed)


def test_the_checked_in_sdl_has_every_declared_option_with_its_type() -> None:
    options = build_schema(sdl()).type_map["CompletionOptionsInput"]
    assert isinstance(options, GraphQLInputObjectType)
    declared = front_end_fields("graphql")
    assert set(options.fields) == {*declared.values(), "streamId"}
    for field, name in declared.items():
        graphql_type = options.fields[name].type
        python_type, listed = core_type(ChatRequest.model_fields[field].annotation)
        named = get_named_type(graphql_type).name
        if python_type in (dict, typing.Union, types.UnionType):  # an object, or one of several
            assert named == "JSON", field
        elif python_type in INPUT_TYPES:
            assert named == INPUT_TYPES[python_type], field
        elif python_type is typing.Literal:
            assert named == "String", field
        else:
            assert named == GRAPHQL_SCALARS[python_type], field
            assert is_list_type(graphql_type) == listed, field


def test_every_front_end_takes_the_same_options() -> None:
    values: dict[str, Any] = {
        "model": "m",
        "temperature": 0.5,
        "top_p": 0.9,
        "max_tokens": 7,
        "stop": ["x"],
        "presence_penalty": 0.1,
        "frequency_penalty": 0.2,
        "seed": 3,
        "user": "u",
        "timeout_s": 9.0,
        "provider": "p",
        "models": ["a", "b"],
    }
    messages = [{"role": "user", "content": "hi"}]
    openai_names = front_end_fields("openai")
    openai = chat_request_from_openai(
        {"messages": messages, **{openai_names[k]: v for k, v in values.items()}}
    )
    graphql_names = front_end_fields("graphql")
    graphql = completion_input(
        messages, {_snake(graphql_names[k]): v for k, v in values.items()}
    ).chat
    query = chat_from_query(
        QueryParams(
            [("prompt", "hi")]
            + [(k, str(x)) for k, v in values.items() for x in (v if isinstance(v, list) else [v])]
        )
    )
    native = ChatRequest.model_validate({"messages": messages, **values})
    for derived in (openai, graphql, query):
        assert derived.model_dump(exclude={"messages"}) == native.model_dump(exclude={"messages"})


def test_a_bad_query_value_names_its_parameter() -> None:
    with pytest.raises(InvalidRequest) as raised:
        chat_from_query(QueryParams([("prompt", "hi"), ("temperature", "warm")]))
    assert raised.value.details[0]["loc"] == ["query", "temperature"]


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)
