"""GraphiQL at ``GET /graphql``, from the files the gateway serves (``/static/vendor``).

Ariadne's own GraphiQL page loads its scripts from a CDN, so it stays blank without internet.
This page loads the vendored GraphiQL, whose fetcher sends the Headers tab (where the key goes)
with every HTTP request and as a subscription socket's ``connection_init`` payload.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ariadne.explorer import Explorer

TEMPLATE = Path(__file__).with_name("graphiql.html")
DEFAULT_HEADERS = '{"Authorization": "Bearer <your key>"}'


class VendoredGraphiQL(Explorer):
    """GraphiQL with its assets from this gateway."""

    def __init__(self, *, title: str, default_query: str) -> None:
        # JSON is valid JavaScript; escaping "<" keeps "</script>" out of the inline script.
        def script_value(value: str) -> str:
            return json.dumps(value).replace("<", "\\u003c")

        self.page = (
            TEMPLATE.read_text()
            .replace("{{ title }}", title.replace("<", "&lt;"))
            .replace("{{ default_query }}", script_value(default_query))
            .replace("{{ default_headers }}", script_value(DEFAULT_HEADERS))
        )

    def html(self, request: Any) -> str:
        return self.page
