"""GraphQL input mapping, document limits, the error formatter and the SDL command."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from graphql import GraphQLError, parse, specified_rules, validate
from typer.testing import CliRunner

from gateway.app import create_app
from gateway.cli.main import app as cli
from gateway.graphql import sdl
from gateway.graphql.errors import format_error
from gateway.graphql.inputs import completion_input
from gateway.graphql.limits import operation_limits, size_limited_parser
from gateway.graphql.schema import executable_schema
from shared.errors import InvalidRequest, ModelNotFound, RequestTooLarge
from shared.settings import Settings

HELLO = [{"role": "user", "content": "hi", "name": None}]


def test_options_become_the_chat_request_and_the_extras() -> None:
    ask = completion_input(
        HELLO,
        {
            "model": "m",
            "max_tokens": 5,
            "top_p": 0.5,
            "stop": ["x"],
            "fallback_models": ["a", "b"],
            "extra_body": {"k": 1},
            "cache": {"no_cache": True, "max_age_s": 60},
            "stream_id": "abcdefgh",
            "temperature": None,
        },
    )
    assert ask.chat.model == "m"
    assert (ask.chat.max_tokens, ask.chat.top_p, ask.chat.stop) == (5, 0.5, ["x"])
    assert ask.chat.models == ["a", "b"]
    assert ask.chat.extra_body == {"k": 1}
    assert ask.chat.temperature is None
    assert ask.chat.cache is not None
    assert (ask.chat.cache.no_cache, ask.chat.cache.no_store, ask.chat.cache.max_age_s) == (
        True,
        False,
        60,
    )
    assert ask.stream_id == "abcdefgh"


@pytest.mark.parametrize(
    ("options", "loc"),
    [
        ({"temperature": 3.0}, ["options", "temperature"]),
        ({"max_tokens": 0}, ["options", "maxTokens"]),
        ({"fallback_models": [""]}, ["options", "fallbackModels", 0]),
        ({"stream_id": "no spaces here"}, ["options", "streamId"]),
        ({"cache": {"max_age_s": -1}}, ["options", "cache", "maxAgeS"]),
    ],
)
def test_invalid_options_name_the_graphql_field(
    options: dict[str, object], loc: list[object]
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        completion_input(HELLO, options)
    assert refused.value.details[0]["loc"] == loc


def test_documents_over_the_limits_are_refused_before_running() -> None:
    schema = executable_schema()
    rule = operation_limits(max_depth=4, max_cost=2500)
    assert validate(schema, parse("{ models { route { provider } } }"), [rule]) == []
    deep = '{ __type(name: "Job") { ofType { ofType { ofType { name } } } } }'
    assert "nests 5" in validate(schema, parse(deep), [rule])[0].message
    two = " ".join(f"c{i}: complete(messages: []) {{ content }}" for i in range(2))
    assert validate(schema, parse("{ " + two + " }"), [rule]) == []
    three = " ".join(f"c{i}: complete(messages: []) {{ content }}" for i in range(3))
    assert "costs 3003" in validate(schema, parse("{ " + three + " }"), [rule])[0].message
    looping = "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A listProviders }"
    assert validate(schema, parse(looping), [*specified_rules, rule])  # the spec's rule says why
    with pytest.raises(RequestTooLarge):
        size_limited_parser(1024)(None, {"query": "{ health { status } }" + " " * 1024})


def test_errors_carry_the_code_of_the_shared_tree() -> None:
    wrapped = GraphQLError("x", original_error=ModelNotFound("no model m", details={"a": 1}))
    assert format_error(wrapped)["extensions"] == {
        "code": "MODEL_NOT_FOUND",
        "retryable": False,
        "details": {"a": 1},
    }
    leaked = format_error(GraphQLError("secret", original_error=KeyError("secret")))
    assert leaked["message"] == "the gateway failed; this is a bug"
    assert leaked["extensions"]["code"] == "INTERNAL_ERROR"
    assert format_error(GraphQLError("Cannot query field"))["extensions"]["code"] == (
        "GRAPHQL_VALIDATION_FAILED"
    )


def test_the_schema_command_prints_the_shipped_sdl() -> None:
    result = CliRunner().invoke(cli, ["schema"])
    assert result.exit_code == 0
    assert result.output == sdl()
    assert "startStreamCompletion" in result.output


@pytest.mark.parametrize(("explorer", "status"), [(True, 200), (False, 405)])
def test_the_explorer_is_turned_off_by_a_setting(explorer: bool, status: int) -> None:
    app = create_app(Settings(graphql_explorer=explorer))
    client = TestClient(app)  # no lifespan: serving the page needs no Redis
    assert client.get("/graphql", headers={"accept": "text/html"}).status_code == status
