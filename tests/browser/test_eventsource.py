"""A page on another origin streams with EventSource and a stream token: it survives a dropped
connection without a second job, stops after the last event, and can read a refusal."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from selenium import webdriver

from tests.browser.conftest import BrowserGateway
from tests.browser.parts import DroppingProxy, PageServer, json_page, wait_until
from tests.conftest import Stack
from tests.helpers import directive, expected_text, new_tag

TOKENS = 60  # 3 s at 50 ms a token: the drop comes well before the end

# The page: it asks its own server for an EventSource URL (the server holds the key and mints
# the token), then records what EventSource does.
PAGE = b"""<!doctype html><title>another origin</title><script>
window.record = {opens: 0, errors: [], events: [], text: "", fetched: null};
async function follow(kind) {
  const {url} = await (await fetch("/start?kind=" + kind)).json();
  const source = new EventSource(url);
  window.source = source;
  source.onopen = () => record.opens++;
  for (const type of ["start", "delta", "usage", "fallback", "done", "error"]) {
    source.addEventListener(type, (e) => {
      if (e.data === undefined) return;  // the connection's error, not the gateway's
      const data = JSON.parse(e.data);
      record.events.push(data);
      if (data.content) record.text += data.content;
    });
  }
  source.addEventListener("error", (e) => {
    if (e.data === undefined) record.errors.push(source.readyState);
  });
}
async function fetchJob(gateway, key) {
  const answer = await fetch(gateway + "/api/v1/llm/complete", {
    method: "POST",
    headers: {"Authorization": "Bearer " + key, "Content-Type": "application/json"},
    body: JSON.stringify({prompt: "hello"}),
  });
  record.fetched = {status: answer.status, job: answer.headers.get("X-Job-Id"),
                    cache: answer.headers.get("X-Cache"), body: await answer.json()};
}
</script>"""


@pytest.fixture(scope="module")
def proxy(browser_gateway: BrowserGateway) -> Iterator[DroppingProxy]:
    dropping = DroppingProxy(browser_gateway.port)
    yield dropping
    dropping.close()


@pytest.fixture(scope="module")
def page(
    stack: Stack, browser_gateway: BrowserGateway, proxy: DroppingProxy
) -> Iterator[PageServer]:
    tags: list[str] = []
    key = {"Authorization": f"Bearer {stack.api_key}"}

    def start(query: str) -> tuple[int, str, bytes]:
        """The page's backend: start a job (or mint a stream token) with its key."""
        kind = parse_qs(query).get("kind", ["job"])[0]
        tag = new_tag()
        tags.append(tag)
        prompt = f"hello {directive(tokens=TOKENS, token_delay_ms=50, tag=tag)}"
        with httpx.Client(base_url=browser_gateway.base_url, headers=key, timeout=10) as http:
            if kind == "job":
                job = http.post("/api/v1/jobs", json={"prompt": prompt}).raise_for_status().json()
                return json_page({"url": proxy.url + job["links"]["event_source"]})
            if kind == "stream":
                made = http.post("/api/v1/stream-tokens", json={}).raise_for_status().json()
                query_string = httpx.QueryParams({"prompt": prompt})
                return json_page({"url": f"{proxy.url}{made['url']}&{query_string}"})
        return json_page({"url": f"{proxy.url}/api/v1/jobs/nope/events?token=forged.token.x"})

    server = PageServer({"/": lambda _: (200, "text/html", PAGE), "/start": start})
    server.tags = tags  # type: ignore[attr-defined]
    yield server
    server.close()


def record(chromium: webdriver.Chrome) -> dict[str, Any]:
    value: dict[str, Any] = chromium.execute_script("return window.record")
    return value


@pytest.mark.parametrize("kind", ["job", "stream"])
def test_a_dropped_stream_resumes_the_same_job_and_stops_after_done(
    kind: str, chromium: webdriver.Chrome, page: PageServer, proxy: DroppingProxy, stack: Stack
) -> None:
    chromium.get(page.origin + "/")
    before = proxy.requests
    chromium.execute_script(f"follow('{kind}')")
    wait_until(chromium, lambda d: len(record(d)["events"]) >= 8)
    # The network cuts the stream mid-way (and any idle connection the browser keeps).
    assert proxy.drop() >= 1

    wait_until(
        chromium,
        lambda d: d.execute_script("return window.source && window.source.readyState") == 2,
    )
    seen = record(chromium)
    seqs = [event["seq"] for event in seen["events"]]
    assert seqs == list(range(1, len(seqs) + 1)), "every event once, in order, after the drop"
    assert seen["events"][-1]["type"] == "done"
    assert seen["text"] == expected_text(TOKENS)
    # Asked three times, opened twice (the first time, and again after the drop): the
    # reconnect after `done` got 204 and EventSource stopped (readyState 2: it never retries).
    assert seen["opens"] == 2
    assert proxy.requests - before == 3
    tag = page.tags[-1]  # type: ignore[attr-defined]
    assert len(stack.fake.requests(tag=tag)) == 1, "the provider was called once"


def test_a_refused_stream_is_readable_by_the_page(
    chromium: webdriver.Chrome, page: PageServer, proxy: DroppingProxy
) -> None:
    chromium.get(page.origin + "/")
    chromium.execute_script("follow('forged')")
    wait_until(
        chromium,
        lambda d: d.execute_script("return window.source && window.source.readyState") == 2,
    )
    seen = record(chromium)
    assert [(e["type"], e["code"], e["status"]) for e in seen["events"]] == [
        ("error", "unauthorized", 401)
    ]
    assert seen["opens"] == 1  # the refusal, then a 204: no retry loop


def test_a_page_on_another_origin_calls_the_api_and_reads_its_headers(
    chromium: webdriver.Chrome, page: PageServer, browser_gateway: BrowserGateway, stack: Stack
) -> None:
    chromium.get(page.origin + "/")
    chromium.execute_script(
        "fetchJob(arguments[0], arguments[1])", browser_gateway.base_url, stack.api_key
    )
    fetched = wait_until(chromium, lambda d: record(d)["fetched"])
    assert fetched["status"] == 200
    assert fetched["job"] == fetched["body"]["id"]  # X-Job-Id is exposed to the page
    assert fetched["cache"] in ("HIT", "MISS")
    assert fetched["body"]["content"]


def test_origins_not_configured_are_refused(browser_gateway: BrowserGateway) -> None:
    preflight = {"Access-Control-Request-Method": "POST"}
    for path in ("/api/v1/jobs", "/v1/chat/completions", "/graphql"):
        allowed = httpx.options(
            browser_gateway.base_url + path, headers={"Origin": "http://localhost:1", **preflight}
        )
        assert allowed.status_code == 200, path
        assert allowed.headers["access-control-allow-origin"] == "http://localhost:1"
        refused = httpx.options(
            browser_gateway.base_url + path,
            headers={"Origin": "https://elsewhere.example", **preflight},
        )
        assert refused.status_code == 400, path
        assert "access-control-allow-origin" not in refused.headers
