"""Usage and cost equal what the provider reported, priced from the table, for every wire
format, streamed and not; reports and budgets follow from them."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse

from shared.config import Price
from shared.usage import Usage
from tests.conftest import Stack
from tests.helpers import COMPLETE_URL, JOBS_URL, STREAM_URL, chat, data, directive
from tests.stack import ADMIN_KEY, PRICES, create_api_key

FORMATS = [
    pytest.param("fake", "fake", "fake-model", id="openai"),
    pytest.param("ds-chat", "deepseek", "deepseek-chat", id="deepseek"),
    pytest.param("ds-reasoner", "deepseek", "deepseek-reasoner", id="deepseek-reasoner"),
    pytest.param("or-model", "openrouter", "anthropic/claude-3.5-sonnet", id="openrouter"),
    pytest.param("claude", "anthropic", "claude-sonnet-4-20250514", id="anthropic"),
]


def priced(provider: str, upstream: str, usage: dict[str, Any]) -> float:
    entries = [Price.model_validate(p) for p in PRICES[provider][upstream]]
    in_force = max(entries, key=lambda p: p.effective_from)
    return in_force.cost(Usage.model_validate(usage))


@pytest.mark.parametrize(("model", "provider", "upstream"), FORMATS)
@pytest.mark.parametrize("streamed", [True, False], ids=["stream", "json"])
def test_usage_and_cost_match_the_provider_and_the_price_table(
    stack: Stack, client: httpx.Client, model: str, provider: str, upstream: str, streamed: bool
) -> None:
    body = chat(f"count these five words {directive(tokens=7, cached_tokens=3)}", model=model)
    if streamed:
        with connect_sse(client, "POST", STREAM_URL, json=body) as source:
            done = data(list(source.iter_sse())[-1])
        job_id = source.response.headers["x-job-id"]
    else:
        done = client.post(COMPLETE_URL, json=body).json()
        job_id = done["id"]
    usage = done["usage"]
    job = client.get(f"{JOBS_URL}/{job_id}").json()
    upstream_record = [r for r in stack.fake.requests() if r["model"] == upstream][-1]
    assert usage["estimated"] is False
    assert usage["completion_tokens"] >= 7  # reasoning models add their reasoning tokens
    assert usage["prompt_tokens"] > 0
    assert upstream_record["outcome"] == "completed"
    assert done["cost"] == pytest.approx(priced(provider, upstream, usage))
    assert job["cost"] == pytest.approx(done["cost"])
    assert job["usage"] == usage


def test_usage_report_sums_per_key_and_each_key_sees_only_its_own(stack: Stack) -> None:
    key = create_api_key(stack.base_url, "reported")
    key_id = key.split("-")[1]
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=stack.base_url, headers=headers, timeout=30) as client:
        costs = []
        for _ in range(3):
            done = client.post(COMPLETE_URL, json=chat(directive(tokens=4), model="fake")).json()
            costs.append(done["cost"])
        mine = client.get("/api/v1/usage", params={"group_by": "key,model,provider"}).json()
        everyone = client.get("/api/v1/usage", params={"key": stack.key_id}).json()
    assert [(r["key"], r["model"], r["provider"], r["requests"]) for r in mine["data"]] == [
        (key_id, "fake", "fake", 3)
    ]
    assert mine["data"][0]["cost_usd"] == pytest.approx(sum(costs))
    assert all(row["key"] == key_id for row in everyone["data"])  # a key sees only its own
    admin = httpx.get(
        f"{stack.base_url}/api/v1/usage",
        params={"group_by": "key", "key": key_id},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    ).json()
    assert admin["data"][0]["requests"] == 3


def test_a_budget_refuses_the_request_that_would_start_past_it(stack: Stack) -> None:
    # One fake-model answer costs about 5e-5 USD here: three fit, a fourth starts past it.
    key = create_api_key(
        stack.base_url,
        "budgeted",
        budget={"limit_usd": 0.00012, "period": "month", "warn_at_fraction": 0.5},
    )
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=stack.base_url, headers=headers, timeout=30) as client:
        answers = []
        for _ in range(6):
            answers.append(client.post(COMPLETE_URL, json=chat(directive(tokens=4), model="fake")))
            if answers[-1].status_code != 200:
                break
            time.sleep(0.05)
    refused = answers[-1]
    assert refused.status_code == 402
    assert refused.json()["error"]["code"] == "budget_exceeded"
    assert any("x-budget-warning" in r.headers for r in answers[:-1])
    spent = sum(r.json()["cost"] for r in answers[:-1])
    assert spent >= 0.00012 > spent - answers[0].json()["cost"]
