"""The gateway's SSE frames as a browser's EventSource and httpx-sse read them: the retry hint
once, named or unnamed events, and refusals a page can read."""

from __future__ import annotations

import orjson
from httpx_sse._decoders import SSEDecoder

from gateway.session import KEEP_ALIVE, Events, Interrupted, Read
from gateway.sse import REFUSED_ID, refusal_response, sse_renderer
from shared.errors import RateLimited, ServiceUnavailable
from shared.events import decode_event


def event(seq: int, body: dict[str, object]) -> Events:
    return Events([decode_event(orjson.dumps({"seq": seq, **body}))])


def decoded(frames: list[bytes]) -> list[tuple[str, str, str, int | None]]:
    """(event, id, data, retry) of each event an SSE client dispatches."""
    decoder, out = SSEDecoder(), []
    for line in b"".join(frames).decode().splitlines():
        sse = decoder.decode(line)
        if sse is not None:
            out.append((sse.event, sse.id, sse.data, sse.retry))
    return out


READS: list[Read] = [
    KEEP_ALIVE,
    event(1, {"type": "start", "provider": "demo", "model": "demo-1"}),
    event(2, {"type": "delta", "content": "hi"}),
    Interrupted(ServiceUnavailable("lost Redis")),
]


def test_named_frames_carry_the_retry_hint_once_and_no_phantom_events() -> None:
    render = sse_renderer(named=True, retry_ms=1500)
    frames = [frame for read in READS for frame in render(read)]
    assert frames[0].startswith(b"retry: 1500\n: keep-alive\n")
    got = decoded(frames)
    assert [(e, i, r) for e, i, _, r in got] == [
        ("start", "1", 1500),
        ("delta", "2", None),
        ("error", "2", None),  # no id of its own: the client keeps the last one
    ]
    assert orjson.loads(got[2][2])["type"] == "error"


def test_unnamed_frames_are_messages_whose_data_names_the_type() -> None:
    render = sse_renderer(named=False, retry_ms=None)
    got = decoded([frame for read in READS for frame in render(read)])
    assert {e for e, _, _, _ in got} == {"message"}
    assert [orjson.loads(d)["type"] for _, _, d, _ in got] == ["start", "delta", "error"]


def test_a_refusal_is_one_error_event_that_ends_the_stream() -> None:
    refused = RateLimited("slow down", headers={"Retry-After": "3"})
    response = refusal_response(refused, named=True, retry_ms=2000)
    assert (response.status_code, response.headers["retry-after"]) == (200, "3")
    [(name, event_id, data, retry)] = decoded([bytes(response.body)])
    assert (name, event_id, retry) == ("error", REFUSED_ID, 2000)
    assert orjson.loads(data) == {
        "type": "error",
        "code": "rate_limited",
        "message": "slow down",
        "retryable": refused.retryable,
        "status": 429,
    }
