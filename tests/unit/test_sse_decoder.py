"""The worker's SSE decoder: frames completed by each read, whatever the read boundaries."""

from __future__ import annotations

from workers.providers.sse import SSEDecoder, SSEFrame


def test_frames_of_one_read_come_together() -> None:
    decoder = SSEDecoder()
    frames = decoder.feed(b'data: {"a":1}\n\ndata: {"a":2}\n\ndata: [DONE]\n\n')
    assert [f.data for f in frames] == ['{"a":1}', '{"a":2}', "[DONE]"]
    assert not decoder.pending


def test_a_frame_split_across_reads_waits_for_its_end() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b'data: {"a"') == []
    assert decoder.pending
    assert decoder.feed(b":1}\n") == []
    assert decoder.feed(b"\n") == [SSEFrame(event="", data='{"a":1}')]


def test_crlf_split_between_reads_is_one_line_break() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x\r\n\r") == []
    assert decoder.feed(b"\ndata: y\r\n\r\n") == [SSEFrame("", "x"), SSEFrame("", "y")]


def test_comments_and_event_names() -> None:
    decoder = SSEDecoder()
    raw = (
        b": OPENROUTER PROCESSING\n\n: keep-alive\n\n"
        b"event: ping\ndata: {}\n\nevent: x\ndata:a\ndata: b\n\n"
    )
    assert decoder.feed(raw) == [SSEFrame("ping", "{}"), SSEFrame("x", "a\nb")]


def test_multibyte_character_split_across_reads() -> None:
    decoder = SSEDecoder()
    encoded = 'data: {"c":"héllo"}\n\n'.encode()
    cut = encoded.index(b"\xc3") + 1
    assert decoder.feed(encoded[:cut]) == []
    assert decoder.feed(encoded[cut:]) == [SSEFrame("", '{"c":"héllo"}')]
