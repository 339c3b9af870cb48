"""Real parts the browser tests put around the gateway: headless Chromium, a page server on
another origin, and a TCP proxy that can drop the browser's connections."""

from __future__ import annotations

import contextlib
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def start_chromium(*, only_loopback: bool = True) -> tuple[webdriver.Chrome, str]:
    """Headless Chromium with a fresh profile; returns the driver and the profile dir.
    ``only_loopback``: every host name but the loopback fails to resolve, so a page that
    needs a CDN breaks here as it would without internet."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if shutil.which(path) is None:
            raise RuntimeError(
                f"{path} is missing: scripts/test installs chromium and chromium-driver"
            )
    profile = tempfile.mkdtemp(prefix="chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # The machine has no network: without these, background connections fail noisily.
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--no-first-run",
        "--window-size=1280,900",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    if only_loopback:
        options.add_argument(
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"
        )
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    return driver, profile


def wait_until(
    driver: webdriver.Chrome, condition: Callable[[webdriver.Chrome], Any], timeout_s: float = 20
) -> Any:
    """``condition``'s first truthy value, polled; a timeout fails the test. An element that a
    page re-rendered meanwhile (stale) counts as not there yet."""
    ignored = (NoSuchElementException, StaleElementReferenceException)
    waiting = WebDriverWait(driver, timeout_s, poll_frequency=0.05, ignored_exceptions=ignored)
    return waiting.until(condition)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


Handler = Callable[[str], tuple[int, str, bytes]]


class PageServer:
    """A web server on its own port (another origin than the gateway's): ``routes`` maps a
    path to a function of the query string returning (status, content type, body)."""

    def __init__(self, routes: dict[str, Handler]) -> None:
        self.routes = routes
        server = self

        class Handle(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                handler = server.routes.get(path)
                status, kind, body = handler(query) if handler else (404, "text/plain", b"")
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handle)
        self.port = self._http.server_address[1]
        self.origin = f"http://localhost:{self.port}"
        threading.Thread(target=self._http.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()


def json_page(value: Any) -> tuple[int, str, bytes]:
    return 200, "application/json", orjson.dumps(value)


@dataclass
class DroppingProxy:
    """A TCP proxy in front of the gateway that counts the requests through it and can cut
    every connection, as a network would."""

    target_port: int
    port: int = 0
    requests: int = 0
    _live: list[socket.socket] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def drop(self) -> int:
        """Close every open connection; returns how many there were."""
        with self._lock:
            live, self._live = self._live, []
        for sock in live:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        return len(live) // 2

    def close(self) -> None:
        self.drop()
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            with self._lock:
                self._live += [client, upstream]
            for source, sink, count in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(target=self._pump, args=(source, sink, count), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, count: bool) -> None:
        try:
            while chunk := source.recv(65536):
                if count and chunk[:4] in (b"GET ", b"POST"):  # a browser sends a request whole
                    with self._lock:
                        self.requests += 1
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            _close(source, sink)


def _close(*socks: socket.socket) -> None:
    for sock in socks:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def ready_state(driver: webdriver.Chrome) -> int | None:
    """The page's ``window.source`` EventSource's readyState (2: closed for good)."""
    state: int | None = driver.execute_script("return window.source && window.source.readyState")
    return state
