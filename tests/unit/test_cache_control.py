"""Cache directives from request headers merged into the request's own cache control."""

from __future__ import annotations

import pytest

from gateway.cache_control import with_cache_header
from shared.chat import ChatRequest
from shared.errors import InvalidRequest

ASK = {"messages": [{"role": "user", "content": "x"}]}


def test_directives_are_read_case_blind_and_unknown_ones_ignored() -> None:
    chat = with_cache_header(ChatRequest.model_validate(ASK), "No-Cache, private, MAX-AGE=60")
    assert chat.cache is not None
    assert (chat.cache.no_cache, chat.cache.no_store, chat.cache.max_age_s) == (True, False, 60)
    assert with_cache_header(ChatRequest.model_validate(ASK), None).cache is None


def test_the_body_wins_on_max_age_and_flags_add_up() -> None:
    own = ChatRequest.model_validate({**ASK, "cache": {"max_age_s": 5, "ttl_s": 9}})
    chat = with_cache_header(own, "no-store, max-age=600")
    assert chat.cache is not None
    assert (chat.cache.no_store, chat.cache.max_age_s, chat.cache.ttl_s) == (True, 5, 9)


@pytest.mark.parametrize("header", ["max-age=soon", "max-age=-1", "max-age="])
def test_a_bad_max_age_is_refused(header: str) -> None:
    with pytest.raises(InvalidRequest):
        with_cache_header(ChatRequest.model_validate(ASK), header)


def test_litellm_spellings_of_the_cache_controls_are_taken() -> None:
    chat = ChatRequest.model_validate(
        {**ASK, "cache": {"no-cache": True, "no-store": True, "s-maxage": 30, "ttl": 600}}
    )
    assert chat.cache is not None
    assert chat.cache.model_dump() == {
        "no_cache": True,
        "no_store": True,
        "max_age_s": 30,
        "ttl_s": 600,
    }
