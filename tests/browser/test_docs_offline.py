"""/docs and /graphql render in a browser that can reach nothing but the gateway: every asset
comes from the gateway itself, and the UIs work (a key authorizes, a query runs)."""

from __future__ import annotations

from typing import Any

from selenium import webdriver
from selenium.webdriver.common.by import By

from tests.browser.parts import wait_until
from tests.conftest import Stack


def resources(driver: webdriver.Chrome) -> list[str]:
    names: list[str] = driver.execute_script(
        "return performance.getEntriesByType('resource').map((e) => e.name)"
    )
    return names


def shown(driver: webdriver.Chrome, selector: str) -> Any:
    """The first element ``selector`` finds that is displayed, or None."""
    found = driver.find_elements(By.CSS_SELECTOR, selector)
    return next((element for element in found if element.is_displayed()), None)


def test_swagger_ui_renders_offline_with_bearer_auth_and_event_streams(
    chromium: webdriver.Chrome, stack: Stack
) -> None:
    chromium.get(stack.base_url + "/docs")
    title = wait_until(chromium, lambda d: shown(d, ".swagger-ui .info .title"))
    assert "llm-gateway" in title.text
    assert all(url.startswith(stack.base_url) for url in resources(chromium)), resources(chromium)
    # The document has bearer auth, so "Authorize" is there and takes a key.
    wait_until(chromium, lambda d: shown(d, "button.authorize")).click()
    dialog = wait_until(chromium, lambda d: shown(d, ".dialog-ux .modal-ux"))
    assert "bearer" in dialog.text and "X-API-Key" in dialog.text
    # Streaming routes are documented as text/event-stream.
    chromium.find_element(By.CSS_SELECTOR, ".dialog-ux .close-modal").click()
    operation = "#operations-completions-stream_get_api_v1_llm_complete_stream_get"
    stream = wait_until(chromium, lambda d: shown(d, operation))
    stream.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    body = wait_until(chromium, lambda d: shown(d, f"{operation} .responses-wrapper"))
    assert "text/event-stream" in body.text
    png = chromium.get_screenshot_as_png()
    assert len(png) > 20_000  # a rendered page, not a blank one


def test_graphiql_renders_offline_and_runs_a_query_with_the_key(
    chromium: webdriver.Chrome, stack: Stack
) -> None:
    chromium.get(stack.base_url + "/graphql")
    wait_until(chromium, lambda d: shown(d, ".graphiql-container"))
    editor = wait_until(chromium, lambda d: shown(d, ".graphiql-query-editor"))
    assert "complete(" in editor.text
    assert all(url.startswith(stack.base_url) for url in resources(chromium)), resources(chromium)
    # The Headers tab (open, with a placeholder) is where the key goes.
    headers = wait_until(chromium, lambda d: shown(d, ".graphiql-editor-tool .CodeMirror"))
    assert "Authorization" in headers.text
    chromium.execute_script(
        "arguments[0].CodeMirror.setValue(arguments[1])",
        headers,
        f'{{"Authorization": "Bearer {stack.api_key}"}}',
    )
    # GraphiQL takes an edit in once it has saved it (debounced) in its tab state.
    wait_until(
        chromium,
        lambda d: stack.api_key in (d.execute_script("return JSON.stringify(localStorage)") or ""),
    )
    chromium.find_element(By.CSS_SELECTOR, ".graphiql-execute-button").click()
    result = wait_until(
        chromium,
        lambda d: "provider" in d.find_element(By.CSS_SELECTOR, ".graphiql-response").text,
    )
    assert result
    answer = chromium.find_element(By.CSS_SELECTOR, ".graphiql-response").text
    assert '"content"' in answer and "errors" not in answer
    assert len(chromium.get_screenshot_as_png()) > 20_000

    # A subscription runs over the WebSocket with the same headers as its connection_init.
    chromium.execute_script(
        "arguments[0].CodeMirror.setValue(arguments[1])",
        editor.find_element(By.CSS_SELECTOR, ".CodeMirror"),
        'subscription { completeStream(messages: [{role: "user", content: "Hi"}]) { type } }',
    )
    wait_until(
        chromium,
        lambda d: "subscription" in d.execute_script("return JSON.stringify(localStorage)"),
    )
    chromium.find_element(By.CSS_SELECTOR, ".graphiql-execute-button").click()
    wait_until(
        chromium, lambda d: '"DONE"' in d.find_element(By.CSS_SELECTOR, ".graphiql-response").text
    )
