"""The body size cap, enforced before the body is parsed (413, never a 500)."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.errors import ErrorShape
from shared.errors import RequestTooLarge


class BodySizeLimit:
    """Refuses a body larger than ``max_bytes``, by its Content-Length or as it streams in.
    ``per_path`` gives some paths their own cap; None leaves the cap to the route (the file
    upload, which counts bytes as it streams them to storage)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        shape: ErrorShape,
        per_path: Mapping[str, int | None] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.shape = shape
        self.per_path = dict(per_path or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.per_path.get(scope["path"], self.max_bytes)
        if max_bytes is None:
            await self.app(scope, receive, send)
            return
        too_large = RequestTooLarge(f"the body is larger than {max_bytes} bytes")
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > max_bytes:
                await self.shape.response(too_large)(scope, receive, send)
                return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise too_large
            return message

        await self.app(scope, counting_receive, send)
