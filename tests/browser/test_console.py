"""The web console at /console, in a real browser, on real data: a key made and revoked, a
chart of the day's usage, a live job, providers, a batch's progress and a streamed chat."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from shared.batch.models import BatchStatus
from tests.batch_helpers import batch_worker
from tests.browser.parts import wait_until
from tests.conftest import Stack
from tests.helpers import directive, expected_text, wait_for_status
from tests.stack import ADMIN_KEY

__all__ = ["batch_worker"]  # the module-scoped fixture the batch test uses

# Set to a folder to keep a screenshot of each page (the README's come from such a run).
SCREENSHOTS = os.environ.get("LLM_GATEWAY_CONSOLE_SCREENSHOTS")


def found(driver: webdriver.Chrome, selector: str, text: str = "") -> WebElement | None:
    """The first displayed element matching ``selector`` (and containing ``text``)."""
    for element in driver.find_elements(By.CSS_SELECTOR, selector):
        if element.is_displayed() and text in element.text:
            return element
    return None


def text_of(driver: webdriver.Chrome, selector: str, text: str) -> str | None:
    """The text of the first displayed element matching ``selector`` that contains ``text``
    (pages re-render their tables: read it, hold no element)."""
    element = found(driver, selector, text)
    return element.text if element is not None else None


def open_page(driver: webdriver.Chrome, stack: Stack, page: str) -> None:
    driver.get(f"{stack.base_url}/console/#/{page}")
    wait_until(driver, lambda d: found(d, "#nav a.active"))


def keep(driver: webdriver.Chrome, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(SCREENSHOTS) / f"console-{name}.png"))


@pytest.fixture(scope="module")
def admin(chromium: webdriver.Chrome, stack: Stack) -> webdriver.Chrome:
    """The browser signed in to the console with the admin key, typed in as a person would."""
    chromium.get(f"{stack.base_url}/console")
    field = wait_until(chromium, lambda d: found(d, "#key-input"))
    field.send_keys(ADMIN_KEY)
    chromium.find_element(By.CSS_SELECTOR, "#key-form button").click()
    wait_until(chromium, lambda d: found(d, "#who", "admin key"))
    assert ADMIN_KEY not in chromium.current_url
    return chromium


@pytest.fixture
def admin_api(stack: Stack) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with httpx.Client(base_url=stack.base_url, headers=headers, timeout=30) as http:
        yield http


def test_an_admin_creates_a_key_with_limits_and_revokes_it(
    admin: webdriver.Chrome, stack: Stack, admin_api: httpx.Client
) -> None:
    open_page(admin, stack, "keys")
    name = f"console-{time.time_ns()}"
    wait_until(admin, lambda d: found(d, "#key-name")).send_keys(name)
    admin.find_element(By.ID, "key-rpm").send_keys("30")
    admin.find_element(By.ID, "key-budget").send_keys("2.5")
    admin.find_element(By.ID, "create-key").click()
    shown_key = wait_until(admin, lambda d: found(d, "#new-key")).text
    assert shown_key.startswith("lgw-")
    row = wait_until(admin, lambda d: text_of(d, "#key-list tr", name))
    assert "30 rpm" in row and "$2.50 / month" in row
    keep(admin, "keys")

    made = next(k for k in admin_api.get("/api/v1/admin/keys").json()["data"] if k["name"] == name)
    assert made["limits"]["requests_per_minute"] == 30
    assert made["budget"] == {"limit_usd": 2.5, "period": "month", "warn_at_fraction": 0.8}
    shown_works = httpx.get(
        f"{stack.base_url}/api/v1/llm/models", headers={"Authorization": f"Bearer {shown_key}"}
    )
    assert shown_works.status_code == 200  # the key the page showed is the real one

    admin.find_element(By.CSS_SELECTOR, f"[data-revoke='{made['id']}']").click()
    admin.switch_to.alert.accept()
    wait_until(admin, lambda d: "revoked" in (text_of(d, "#key-list tr", name) or ""))
    refused = httpx.get(
        f"{stack.base_url}/api/v1/llm/models", headers={"Authorization": f"Bearer {shown_key}"}
    )
    assert refused.status_code == 401


def test_usage_chart_shows_the_days_usage(
    admin: webdriver.Chrome, stack: Stack, client: httpx.Client
) -> None:
    answered = client.post("/api/v1/llm/complete", json={"prompt": f"count {directive(tokens=6)}"})
    assert answered.status_code == 200
    today = time.strftime("%Y-%m-%d", time.gmtime())
    open_page(admin, stack, "usage")
    bar = wait_until(
        admin, lambda d: found(d, f"svg.chart rect.bar[data-day='{today}'][data-series='fake']")
    )
    assert float(bar.get_attribute("data-value") or 0) > 0
    charts = admin.find_elements(By.CSS_SELECTOR, "#usage-charts h3")
    assert [c.text for c in charts] == ["Tokens per day by model", "Cost per day by model"]
    assert found(admin, "#usage-charts tr", "fake")
    keep(admin, "usage")


def test_a_running_job_is_listed_live(
    admin: webdriver.Chrome, stack: Stack, client: httpx.Client
) -> None:
    slow = directive(tokens=400, token_delay_ms=50)
    job = client.post("/api/v1/jobs", json={"prompt": f"slow {slow}"}).json()
    try:
        wait_for_status(client, job["id"], {"running"})
        open_page(admin, stack, "jobs")
        admin.find_element(By.ID, "live-only").click()
        row = wait_until(admin, lambda d: text_of(d, "#job-list tr", job["id"]))
        assert "running" in row
        keep(admin, "jobs")
    finally:
        client.delete(f"/api/v1/jobs/{job['id']}")


def test_providers_show_health_and_circuits(admin: webdriver.Chrome, stack: Stack) -> None:
    open_page(admin, stack, "providers")
    row = wait_until(admin, lambda d: text_of(d, "#provider-list tr", "fake_backup"))
    assert "closed" in row
    unreachable = wait_until(admin, lambda d: text_of(d, "#provider-list tr", "unreachable"))
    assert "nobody-home" in unreachable
    keep(admin, "providers")


def test_a_batch_shows_its_progress(
    admin: webdriver.Chrome, stack: Stack, admin_api: httpx.Client, batch_worker: object
) -> None:
    requests = [
        {
            "custom_id": f"r{n}",
            "body": {
                "model": "fake",
                "messages": [{"role": "user", "content": f"n{n} {directive(tokens=3)}"}],
            },
        }
        for n in range(3)
    ]
    made = admin_api.post(
        "/api/v1/batches", json={"requests": requests, "metadata": {"from": "console"}}
    )
    assert made.status_code == 202
    batch = made.json()
    open_page(admin, stack, "batches")
    # "3 / 3" shows while the batch is still finalizing: wait for its end.
    row = wait_until(
        admin,
        lambda d: (
            (text := text_of(d, "#batch-list tr", batch["id"]))
            and any(status.value in text for status in BatchStatus if status.ended)
            and text
        ),
        timeout_s=60,
    )
    assert "completed" in row
    assert "3 / 3" in row
    keep(admin, "batches")


def test_the_playground_streams_a_chat(admin: webdriver.Chrome, stack: Stack) -> None:
    open_page(admin, stack, "playground")
    model = wait_until(admin, lambda d: found(d, "#model"))
    model.find_element(By.CSS_SELECTOR, "option[value='fake']").click()
    admin.find_element(By.ID, "prompt").send_keys(f"Hello {directive(tokens=7, token_delay_ms=20)}")
    admin.find_element(By.ID, "send").click()
    bubble = wait_until(admin, lambda d: found(d, ".msg.assistant[data-done='true']"))
    assert bubble.find_element(By.CSS_SELECTOR, ".content").text == expected_text(7)
    assert "fake" in bubble.find_element(By.CSS_SELECTOR, ".meta").text
    keep(admin, "playground")
