"""The GraphQL API (Ariadne): the same jobs and events as REST, with live subscriptions."""

from gateway.graphql.schema import sdl
from gateway.graphql.server import mount_graphql

__all__ = ["mount_graphql", "sdl"]
