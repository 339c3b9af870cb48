"""Redaction on streams: a match split across deltas is still replaced, nothing else changes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.config import OutputFilter
from workers.redaction import FilterSet


def compiled(filters: list[OutputFilter]) -> FilterSet:
    found = FilterSet.compile(filters)
    assert found is not None
    return found


FILTERS = compiled(
    [
        OutputFilter(preset="email", replacement="[email]"),
        OutputFilter(preset="api_key", replacement="[key]"),
    ]
)


def streamed(pieces: list[str]) -> str:
    redactor = FILTERS.redactor()
    return "".join(redactor.feed(piece) for piece in pieces) + redactor.flush()


def test_a_match_split_across_two_deltas_is_redacted() -> None:
    pieces = ["write to john.sm", "ith@example.com or use sk-abcdefgh", "ijklmnop12345 today"]
    assert streamed(pieces) == "write to [email] or use [key] today"


def test_text_far_from_any_match_is_not_held_back() -> None:
    redactor = FILTERS.redactor()
    sent = redactor.feed("x" * 500)
    assert sent == "x" * (500 - FILTERS.hold_chars)
    assert redactor.flush() == "x" * FILTERS.hold_chars


@given(
    st.lists(
        st.sampled_from(["a", " ", "b@", "x.io", "@c", ".", "sk-", "k" * 9, "jo"]), max_size=40
    ),
    st.data(),
)
def test_any_split_gives_the_same_text_as_redacting_it_whole(
    parts: list[str], split: st.DataObject
) -> None:
    text = "".join(parts)
    cuts = sorted(split.draw(st.lists(st.integers(0, len(text)), max_size=6)))
    pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    assert streamed(pieces) == FILTERS.regex.sub(lambda m: FILTERS.redactor()._replacement(m), text)


def test_a_filter_needs_a_pattern_or_a_preset() -> None:
    with pytest.raises(ValueError, match="pattern or a preset"):
        OutputFilter()


def test_upstream_error_text_is_scrubbed_of_the_sent_key_and_key_shapes() -> None:
    from workers.providers.http_errors import error_message, scrub

    sent = "my-own-provider-key"
    body = {"error": {"message": f"Incorrect API key provided: {sent}; also Bearer abc.def"}}
    assert error_message(body, [sent]) == "Incorrect API key provided: [redacted]; also [redacted]"
    for key in ("sk-ant-api03-AbCdEf012345", "sk-or-v1-0123456789abcdef", "lgw-0a1b2c-secret99"):
        assert scrub(f"key {key} refused") == "key [redacted] refused"
    assert scrub("model gpt-4o-mini is not available") == "model gpt-4o-mini is not available"
