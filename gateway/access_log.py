"""The access log (``llm-gateway gateway --access-log``) without what a query string may carry:
a GET stream's prompt, messages and system message, and anything named like a credential."""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl, urlencode

SCRUBBED = frozenset({"prompt", "messages", "system", "key", "api_key", "token", "access_token"})
ACCESS_LOGGER = "uvicorn.access"


def scrub_path(path: str) -> str:
    """``path`` with the values of the scrubbed query parameters replaced."""
    base, sep, query = path.partition("?")
    if not sep:
        return path
    pairs = parse_qsl(query, keep_blank_values=True)
    kept = [(name, "[redacted]" if name.lower() in SCRUBBED else value) for name, value in pairs]
    return f"{base}?{urlencode(kept)}"


class QueryScrubber(logging.Filter):
    """Rewrites uvicorn's access records (args: client, method, path, version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], scrub_path(args[2]), *args[3:])
        return True


def scrub_access_log() -> None:
    """Install the scrubber on uvicorn's access logger (once)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, QueryScrubber) for f in logger.filters):
        logger.addFilter(QueryScrubber())
