"""Tool schemas are checked against the meta-schema once per schema, not once per request."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from shared.content_checks import SchemaVerdicts

VALID: dict[str, Any] = {"type": "object", "properties": {"city": {"type": "string"}}}
INVALID: dict[str, Any] = {"type": "object", "properties": {"city": {"type": 7}}}


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every schema the meta-schema check actually runs on."""
    seen: list[dict[str, Any]] = []
    check = Draft202012Validator.check_schema

    def counted(schema: dict[str, Any]) -> None:
        seen.append(schema)
        check(schema)

    monkeypatch.setattr(Draft202012Validator, "check_schema", counted)
    return seen


def test_a_schema_seen_again_is_not_checked_again(checks: list[dict[str, Any]]) -> None:
    verdicts = SchemaVerdicts(max_entries=8)
    assert verdicts.problem(VALID) is None
    problem = verdicts.problem(INVALID)
    assert problem is not None and "7" in problem
    # The same schemas again, one with its keys in another order: answered from the memo.
    assert verdicts.problem({"properties": {"city": {"type": "string"}}, "type": "object"}) is None
    assert verdicts.problem(INVALID) == problem
    assert checks == [VALID, INVALID]


def test_the_memo_keeps_only_the_latest_schemas(checks: list[dict[str, Any]]) -> None:
    verdicts = SchemaVerdicts(max_entries=2)
    schemas = [{"type": "object", "title": f"t{n}"} for n in range(3)]
    for schema in schemas:
        verdicts.problem(schema)
    verdicts.problem(schemas[0])  # evicted by the third: checked again
    verdicts.problem(schemas[2])  # still kept
    assert checks == [*schemas, schemas[0]]


def test_a_schema_json_cannot_encode_is_still_checked(checks: list[dict[str, Any]]) -> None:
    verdicts = SchemaVerdicts(max_entries=8)
    lone_surrogate: dict[str, Any] = {"type": "object", "title": "\udab2"}
    assert verdicts.problem(lone_surrogate) is None
    assert verdicts.problem({**lone_surrogate, "type": 7}) is not None
    assert len(checks) == 2
