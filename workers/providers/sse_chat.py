"""The skeleton every HTTP adapter shares: one POST answered with Server-Sent Events, or with
one JSON answer where the adapter `answers_whole` and the call is ``whole``.

Subclasses say where to POST, what to send and how to read the frames (a `StreamParser`) or
the answer; the transport, the time budgets, error translation and draining the body for reuse
live here.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any, ClassVar, Protocol

import orjson

from shared.config import ProviderConfig
from shared.errors import ProviderRejected, ProviderUnavailable, StreamInterrupted
from workers.providers.base import Chunk, Embedded, EmbeddingCall, ProviderCall
from workers.providers.http_errors import from_status, sent_secrets
from workers.providers.http_transport import HTTPTransport, UpstreamResponse
from workers.providers.sse import SSEDecoder, SSEFrame
from workers.providers.timing import ReadBudget


class StreamParser(Protocol):
    """Turns the SSE frames of ONE upstream stream into chunks. A new parser is made per call,
    so it may keep state across reads (Anthropic's input tokens arrive long before the output)."""

    terminator: str

    def merge(self, frames: list[SSEFrame]) -> tuple[Chunk, bool]:
        """Merge the frames of one read into one chunk; True once the terminator was seen."""
        ...


def parse_frame(provider: str, frame: SSEFrame) -> dict[str, Any]:
    """The JSON object of one frame; anything else means the stream is broken."""
    return parse_object(provider, frame.data, "frame in the stream")


def parse_object(provider: str, data: str | bytes, what: str) -> dict[str, Any]:
    """The JSON object ``data`` holds; anything else is StreamInterrupted (``what`` broke)."""
    try:
        payload = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise StreamInterrupted(f"{provider}: malformed {what}", provider=provider) from exc
    if not isinstance(payload, dict):
        raise StreamInterrupted(f"{provider}: unexpected {what}", provider=provider)
    return payload


class SSEChatProvider:
    """Streams one POST whose answer is Server-Sent Events, timed by `ReadBudget`.

    Subclasses say where to POST, what to send and how to read the frames; the transport, the
    time budgets, error translation and draining the body for connection reuse live here.
    """

    default_base_url: ClassVar[str | None] = None
    chat_path: ClassVar[str] = "/chat/completions"
    models_path: ClassVar[str] = "/models"

    def __init__(self, name: str, config: ProviderConfig) -> None:
        base_url = config.base_url or self.default_base_url
        if not base_url:
            raise ValueError(f"provider {name!r} needs a base_url")
        self.name = name
        self.config = config
        # The configured headers win over the adapter's own; the key is set last.
        headers = {"Accept": "text/event-stream", **self.adapter_headers(), **config.headers}
        if config.api_key is not None:
            headers.update(self.auth_headers(config.api_key.get_secret_value()))
        self._secrets = sent_secrets(headers)  # scrubbed from the provider's error text
        # Reads are timed by ReadBudget (first token, idle, total); the transport times connects.
        self._client = HTTPTransport(
            name,
            base_url,
            headers,
            connect_s=config.timeouts.connect_s,
            max_connections=config.max_connections,
            keepalive_s=config.keepalive_s,
        )

    def auth_headers(self, key: str) -> dict[str, str]:
        """How the key is sent; never logged, never put in an error."""
        return {"Authorization": f"Bearer {key}"}

    def adapter_headers(self) -> dict[str, str]:
        """Headers the wire format needs on every request (the config's ``headers`` win)."""
        return {}

    def request_body(self, call: ProviderCall) -> dict[str, Any]:
        raise NotImplementedError

    def new_parser(self) -> StreamParser:
        raise NotImplementedError

    def answers_whole(self, call: ProviderCall) -> bool:
        """Subclasses that read a non-streamed answer (`whole_chunk`) say when."""
        return False

    def whole_chunk(self, answer: dict[str, Any]) -> Chunk:
        """A non-streamed answer as one chunk (where ``answers_whole``)."""
        raise NotImplementedError

    async def stream(self, call: ProviderCall) -> AsyncGenerator[Chunk, None]:
        """Stream the completion; see `workers.providers.base.Provider.stream`."""
        body = orjson.dumps(self.request_body(call))
        with ReadBudget(self.config.timeouts, whole=call.whole) as budget:
            response = await budget.run(self._client.post(self.chat_path, body), self.name)
            try:
                if response.status != 200:
                    raw = await budget.run(response.read(), self.name)
                    raise from_status(
                        self.name, response.status, response.headers, raw, self._secrets
                    )
                if call.whole:
                    raw = await budget.run(response.read(), self.name)
                    yield self.whole_chunk(parse_object(self.name, raw, "answer"))
                    return
                async for chunk in self._chunks(response, budget):
                    yield chunk
            finally:
                response.close()

    async def _chunks(
        self, response: UpstreamResponse, budget: ReadBudget
    ) -> AsyncGenerator[Chunk, None]:
        decoder = SSEDecoder()
        parser = self.new_parser()
        reads = response.chunks()
        while True:
            data = await budget.next_read(reads, self.name)
            if data is None:
                break
            try:
                frames = decoder.feed(data)
            except UnicodeDecodeError as exc:
                raise StreamInterrupted(
                    f"{self.name}: undecodable bytes in the stream", provider=self.name
                ) from exc
            chunk, done = parser.merge(frames)
            if chunk.has_text:
                budget.got_token()
            # A read may bring only a finished reasoning detail (Anthropic's signature_delta
            # and content_block_stop): it must still reach the transcript.
            if chunk.has_text or chunk.finish_reason or chunk.usage or chunk.reasoning_details:
                yield chunk
            if done:
                # Read to the end of the body so the connection goes back to the pool.
                while await budget.next_read(reads, self.name) is not None:
                    pass
                return
        raise StreamInterrupted(
            f"{self.name}: the stream ended without {parser.terminator}", provider=self.name
        )

    async def embed(self, call: EmbeddingCall) -> Embedded:
        """This wire format has no embeddings (its kind's capabilities keep them away)."""
        raise ProviderRejected(f"{self.name} serves no embeddings", provider=self.name)

    async def list_models(self) -> list[str]:
        """The ids of the provider's ``GET {models_path}`` (``data[].id``)."""
        body = await self._get_json(self.models_path)
        items = body.get("data") or ()
        return [str(item["id"]) for item in items if isinstance(item, dict) and "id" in item]

    async def _get_json(
        self, path: str, params: dict[str, str | int] | None = None
    ) -> dict[str, Any]:
        status, headers, raw = await self._client.get(
            path, params, timeout_s=self.config.timeouts.connect_s
        )
        if status != 200:
            raise from_status(self.name, status, headers, raw, self._secrets)
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ProviderUnavailable(
                f"{self.name}: {path} answered something other than JSON", provider=self.name
            ) from exc
        if not isinstance(body, dict):
            raise ProviderUnavailable(
                f"{self.name}: {path} answered {body!r:.80}", provider=self.name
            )
        return body

    async def aclose(self) -> None:
        await self._client.aclose()
