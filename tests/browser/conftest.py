"""Browser tests: a gateway that lets pages on localhost call it, and one headless Chromium
per module; a failed test leaves a screenshot (its path is printed)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from selenium import webdriver

from tests.browser.parts import start_chromium
from tests.conftest import Stack
from tests.stack import Process, start_gateway


@dataclass
class BrowserGateway:
    base_url: str
    process: Process

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])


@pytest.fixture(scope="session")
def browser_gateway(stack: Stack) -> Iterator[BrowserGateway]:
    """A second gateway on the stack's Redis and worker, configured as a deployment serving
    pages on localhost would be; EventSource reconnects after 200 ms."""
    env = {
        **stack.env,
        "LLM_GATEWAY_CORS__ALLOW_ORIGIN_REGEX": r"^http://localhost:\d+$",
        "LLM_GATEWAY_SSE_RETRY_MS": "200",
    }
    process, base_url = start_gateway(env, stack.log_dir, name="browser-gateway")
    try:
        yield BrowserGateway(base_url, process)
    finally:
        process.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[webdriver.Chrome]:
    driver, profile = start_chromium()
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep the test's own outcome on it, for the screenshot fixture (pytest's recipe)."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    if report.when == "call":
        item.stash[CALL_REPORT] = report


CALL_REPORT = pytest.StashKey[pytest.TestReport]()


@pytest.fixture(autouse=True)
def screenshot_on_failure(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """A failed test leaves a screenshot of its browser in pytest's temporary directory."""
    yield
    report = request.node.stash.get(CALL_REPORT, None)
    driver = request.node.funcargs.get("chromium") if hasattr(request.node, "funcargs") else None
    if report is None or not report.failed or driver is None:
        return
    path = tmp_path_factory.mktemp("screenshots") / f"{request.node.name}.png"
    driver.save_screenshot(str(path))
    print(f"screenshot of the failed test: {path} ({driver.current_url})")
