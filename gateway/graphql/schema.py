"""The executable schema: the checked-in SDL bound to the resolvers."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from ariadne import EnumType, ObjectType, ScalarType, make_executable_schema
from graphql import GraphQLSchema, ValueNode, value_from_ast_untyped

from gateway.graphql.mutations import mutation
from gateway.graphql.queries import query
from gateway.graphql.subscriptions import subscription
from shared.events import EventType
from shared.jobs import JobStatus

json_scalar = ScalarType("JSON")


@json_scalar.serializer
def serialize_json(value: Any) -> Any:
    return value


@json_scalar.value_parser
def parse_json_value(value: Any) -> Any:
    return value


@json_scalar.literal_parser
def parse_json_literal(node: ValueNode, variables: dict[str, Any] | None = None) -> Any:
    return value_from_ast_untyped(node, variables)


usage_type = ObjectType("Usage")
# Ariadne would look these up as cache_write_5_m_tokens: a digit starts a camel-case word.
usage_type.set_alias("cacheWrite5mTokens", "cache_write_5m_tokens")
usage_type.set_alias("cacheWrite1hTokens", "cache_write_1h_tokens")


def sdl() -> str:
    """The schema's SDL, as shipped in the package (``llm-gateway schema`` prints it)."""
    return resources.files("gateway.graphql").joinpath("schema.graphql").read_text()


@cache
def executable_schema() -> GraphQLSchema:
    """Built once per process: the schema is immutable and its resolvers hold no state."""
    return make_executable_schema(
        sdl(),
        query,
        mutation,
        subscription,
        json_scalar,
        usage_type,
        EnumType("JobStatus", JobStatus),
        EnumType("StreamEventType", EventType),
        convert_names_case=True,
    )
