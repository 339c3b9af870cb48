"""Responses API bodies to the gateway's ChatRequest: Codex CLI's body as it sends it (0.171.0,
captured against a fake server), input items grouped into turns, tools, and the fields
an error names."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.content import ReasoningDetail
from shared.errors import InvalidRequest, ToolCallUnmatched
from shared.openai_format import UnsupportedParameter
from shared.responses_format import responses_request
from shared.responses_format.reasoning import encode_reasoning

APPLY_PATCH_GRAMMAR = 'start: begin_patch hunk+ end_patch\nbegin_patch: "*** Begin Patch" LF\n'


def codex_body(*turns: dict[str, Any]) -> dict[str, Any]:
    """What Codex CLI 0.171.0 sends (trimmed): instructions as developer messages in the
    input, every item with an id, its tool kinds, store false, encrypted reasoning asked."""
    return {
        "model": "gpt-5.5",
        "input": [
            {
                "type": "message",
                "id": "msg_1",
                "role": "developer",
                "content": [{"type": "input_text", "text": "You are Codex."}],
            },
            {
                "type": "message",
                "id": "msg_2",
                "role": "user",
                "content": [{"type": "input_text", "text": "USE_TOOL: run echo hi"}],
            },
            *turns,
        ],
        "tools": [
            {
                "type": "function",
                "name": "exec_command",
                "description": "Runs a command in a PTY.",
                "strict": False,
                "parameters": {
                    "type": "object",
                    "properties": {"cmd": {"type": "string"}},
                    "required": ["cmd"],
                    "additionalProperties": False,
                },
            },
            {
                "type": "custom",
                "name": "apply_patch",
                "description": "Edit files. This is a FREEFORM tool.",
                "format": {"type": "grammar", "syntax": "lark", "definition": APPLY_PATCH_GRAMMAR},
            },
            {
                "type": "namespace",
                "name": "multi_agent_v1",
                "description": "Sub-agents.",
                "tools": [],
            },
            {
                "type": "tool_search",
                "execution": "client",
                "description": "Find tools.",
                "parameters": {},
            },
            {"type": "web_search", "external_web_access": False, "search_content_types": ["text"]},
        ],
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "reasoning": {"effort": "medium"},
        "store": False,
        "stream": True,
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "01a2335e-b590-7e32-ada0-a841f9e5e9ba",
        "text": {"verbosity": "low"},
        "client_metadata": {"x-codex-window-id": "01a2335e:0"},
    }


def test_codex_first_turn() -> None:
    request = responses_request(codex_body())
    chat, added = request.chat([])
    assert [m.role for m in chat.messages] == ["developer", "user"]
    assert added == chat.messages  # no instructions, no history
    assert [t.function.name for t in chat.tools or []] == ["exec_command", "apply_patch"]
    patch = chat.tools[1].function  # type: ignore[index]
    assert patch.parameters == {
        "type": "object",
        "properties": {"input": {"type": "string", "description": "the tool's input"}},
        "required": ["input"],
        "additionalProperties": False,
    }
    assert patch.description is not None and APPLY_PATCH_GRAMMAR in patch.description
    assert request.custom_tools == {"apply_patch"}
    assert chat.reasoning_effort == "medium" and chat.tool_choice == "auto"
    assert (request.stream, request.store, request.include_reasoning) == (True, False, True)
    assert request.echo.prompt_cache_key == "01a2335e-b590-7e32-ada0-a841f9e5e9ba"


def test_codex_tool_turns_become_one_assistant_turn_and_tool_results() -> None:
    turns: list[dict[str, Any]] = [
        {
            "type": "reasoning",
            "id": "rs_1",
            "summary": [{"type": "summary_text", "text": "Thinking about the request."}],
            "content": None,
            "encrypted_content": "gAAAAB-from-openai",  # not ours: means nothing elsewhere
        },
        {
            "type": "function_call",
            "status": "completed",
            "id": "fc_1",
            "name": "exec_command",
            "arguments": '{"cmd": "echo hi"}',
            "call_id": "call_a",
        },
        {
            "type": "custom_tool_call",
            "id": "ctc_1",
            "status": "completed",
            "call_id": "call_b",
            "name": "apply_patch",
            "input": "*** Begin Patch\n*** End Patch\n",
        },
        {"type": "function_call_output", "id": "fco_1", "call_id": "call_a", "output": "hi\n"},
        {"type": "custom_tool_call_output", "id": "ctco_1", "call_id": "call_b", "output": "Done"},
    ]
    chat, _ = responses_request(codex_body(*turns)).chat([])
    roles = [m.role for m in chat.messages]
    assert roles == ["developer", "user", "assistant", "tool", "tool"]
    turn = chat.messages[2]
    assert turn.content is None and turn.reasoning == "Thinking about the request."
    assert [(c.id, c.function.name) for c in turn.tool_calls or []] == [
        ("call_a", "exec_command"),
        ("call_b", "apply_patch"),
    ]
    assert json.loads(turn.tool_calls[1].function.arguments) == {  # type: ignore[index]
        "input": "*** Begin Patch\n*** End Patch\n"
    }
    assert [(m.tool_call_id, m.content) for m in chat.messages[3:]] == [
        ("call_a", "hi\n"),
        ("call_b", "Done"),
    ]


def test_our_encrypted_content_brings_the_reasoning_details_back() -> None:
    details = [ReasoningDetail(type="reasoning.text", text="hmm", signature="sig", format="x")]
    turns: list[dict[str, Any]] = [
        {
            "type": "reasoning",
            "id": "rs_1",
            "summary": [],
            "encrypted_content": encode_reasoning("hmm", details),
        },
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "hello"}],
        },
        {"role": "user", "content": "and?"},
    ]
    chat, _ = responses_request(codex_body(*turns)).chat([])
    turn = chat.messages[2]
    assert (turn.content, turn.reasoning, turn.reasoning_details) == ("hello", "hmm", details)


def test_partial_output_resent_on_a_retry_is_an_assistant_turn() -> None:
    # Codex resends what it got of a broken stream as the assistant's text.
    partial = {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "output_text", "text": "Hel"}],
    }
    chat, _ = responses_request(codex_body(partial)).chat([])
    assert (chat.messages[-1].role, chat.messages[-1].content) == ("assistant", "Hel")


def test_instructions_come_first_and_history_between() -> None:
    request = responses_request(
        {"model": "m", "instructions": "Be brief.", "input": "again", "max_output_tokens": 5}
    )
    history, _ = responses_request({"model": "m", "input": "first"}).chat([])
    chat, added = request.chat(list(history.messages))
    assert [(m.role, m.content) for m in chat.messages] == [
        ("system", "Be brief."),
        ("user", "first"),
        ("user", "again"),
    ]
    assert [m.content for m in added] == ["again"]
    assert chat.max_tokens == 5
    assert request.echo.instructions == "Be brief."


def test_parts_and_structured_output_map_to_the_internal_forms() -> None:
    png = "data:image/png;base64,iVBORw0KGgo="
    body = {
        "model": "m",
        "input": [
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "what is this?"},
                    {"type": "input_image", "image_url": png, "detail": "original"},
                    {"type": "input_file", "filename": "a.pdf", "file_url": "https://x.test/a.pdf"},
                ],
            }
        ],
        "text": {
            "format": {
                "type": "json_schema",
                "name": "w",
                "schema": {"type": "object"},
                "strict": True,
            }
        },
        "tools": [
            {"type": "function", "name": "f", "parameters": {"type": "object"}, "strict": True}
        ],
        "tool_choice": {
            "type": "allowed_tools",
            "mode": "required",
            "tools": [{"type": "function", "name": "f"}],
        },
    }
    chat, _ = responses_request(body).chat([])
    parts = chat.messages[0].model_dump(exclude_none=True)["content"]
    assert parts[1] == {"type": "image_url", "image_url": {"url": png, "detail": "high"}}
    assert parts[2] == {
        "type": "file",
        "file": {"filename": "a.pdf", "file_data": "https://x.test/a.pdf"},
    }
    assert chat.response_format is not None
    dumped = chat.response_format.model_dump(by_alias=True, exclude_none=True)
    assert dumped == {
        "type": "json_schema",
        "json_schema": {"name": "w", "schema": {"type": "object"}, "strict": True},
    }
    assert chat.tool_choice == "required"


def test_errors_name_the_body_fields() -> None:
    unmatched = {
        "model": "m",
        "instructions": "hi",
        "input": [
            {"role": "user", "content": "x"},
            {"type": "function_call_output", "call_id": "call_zz", "output": "r"},
        ],
    }
    with pytest.raises(ToolCallUnmatched) as raised:
        responses_request(unmatched).chat([])
    assert raised.value.details["param"] == "input[1]"
    assert "input[1]" in raised.value.message and "messages" not in raised.value.message
    with pytest.raises(UnsupportedParameter) as hosted:
        responses_request(
            {"model": "m", "input": "x", "tools": [{"type": "mcp", "server_label": "s"}]}
        )
    assert hosted.value.details["param"] == "tools[0].type"
    with pytest.raises(InvalidRequest) as bad:
        responses_request({"model": "m", "input": [{"role": "robot", "content": "x"}]})
    assert bad.value.details["param"] == "input[0].role"


def test_a_body_whose_tools_are_all_dropped_asks_for_no_tools() -> None:
    body = {
        "model": "m",
        "input": "x",
        "tools": [{"type": "web_search"}],
        "tool_choice": "auto",
        "parallel_tool_calls": True,
    }
    chat, _ = responses_request(body).chat([])
    assert (chat.tools, chat.tool_choice, chat.parallel_tool_calls) == (None, None, None)
