"""Where /metrics listens and who may read it, and an access log without prompts."""

from __future__ import annotations

import time

import httpx
import pytest

from gateway.cli.redis_server import free_port
from tests.conftest import Stack
from tests.faults import wait_until
from tests.stack import ADMIN_KEY, spawn, start_gateway

pytestmark = pytest.mark.integration
METRIC = "llm_gateway_cache_requests"


def test_metrics_on_the_api_port_need_the_metrics_or_admin_key(
    stack: Stack, client: httpx.Client
) -> None:
    assert httpx.get(f"{stack.base_url}/metrics").status_code == 401
    assert client.get("/metrics").status_code == 403  # a client key may not
    admin = httpx.get(f"{stack.base_url}/metrics", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert admin.status_code == 200
    assert admin.headers["content-type"].startswith("text/plain")


def test_a_metrics_listener_of_its_own_answers_scrapers_without_a_key(stack: Stack) -> None:
    port = free_port()
    env = {
        **stack.env,
        "LLM_GATEWAY_METRICS_LISTEN": f"127.0.0.1:{port}",
        "LLM_GATEWAY_METRICS_KEY": "scrape-token",
    }
    gateway, base_url = start_gateway(env, stack.log_dir, name="gateway-metrics")
    try:
        scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        assert scraped.status_code == 200
        assert METRIC in scraped.text
        token = {"Authorization": "Bearer scrape-token"}
        assert httpx.get(f"{base_url}/metrics", headers=token).status_code == 200
    finally:
        gateway.stop()


def test_the_access_log_keeps_no_prompt_of_a_get_stream(stack: Stack) -> None:
    port = free_port()
    args = ["gateway", "--port", str(port), "--access-log", "--log-level", "info"]
    gateway = spawn("gateway-access-log", args, stack.env, stack.log_dir)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base_url}/api/v1/health/live", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, gateway.tail()
            time.sleep(0.1)
        secret = "my-very-private-prompt"
        with httpx.Client(base_url=base_url, headers=stack.auth_headers, timeout=30) as client:
            answer = client.get(
                "/api/v1/llm/complete/stream", params={"prompt": secret, "model": "demo"}
            )
        assert answer.status_code == 200
        line = "GET /api/v1/llm/complete/stream 200"  # the route, never its query
        wait_until(lambda: line in gateway.log_path.read_text(), 10, "the access log")
        log = gateway.log_path.read_text()
        assert secret not in log
        assert "prompt=" not in log
    finally:
        gateway.stop()
