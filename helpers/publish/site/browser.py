"""`make test` (no notebook): Headless Chromium driven over the DevTools protocol (websocket-client), and a local web
server for the site.

Debian's ``chromium`` is started with the flags this machine's closed network needs (no background networking, no
component updates, no sync) and a throw-away profile; no browser is downloaded.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM_ENV = "CHROMIUM"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)


def find_chromium() -> str | None:
    """``$CHROMIUM``, else ``chromium`` / ``chromium-browser`` on the PATH; None when there is none."""
    return os.environ.get(CHROMIUM_ENV) or shutil.which("chromium") or shutil.which("chromium-browser")


class DevTools:
    """One page target: send commands, collect the events that arrive meanwhile."""

    def __init__(self, ws_url: str) -> None:
        import websocket  # websocket-client

        self.ws = websocket.create_connection(ws_url, timeout=60, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def _receive(self, timeout: float) -> dict[str, Any] | None:
        import websocket

        self.ws.settimeout(max(timeout, 0.05))
        try:
            return json.loads(self.ws.recv())
        except websocket.WebSocketTimeoutException:
            return None

    def call(self, method: str, params: dict[str, Any] | None = None, timeout: float = 60.0) -> dict[str, Any]:
        """Send one command and return its result; events received meanwhile go to :attr:`events`."""
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params or {}}))
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            message = self._receive(left)
            if message is None:
                continue
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)
        raise TimeoutError(f"{method}: no answer in {timeout} s")

    def wait_for(self, event: str, timeout: float) -> dict[str, Any] | None:
        """The first ``event`` already received or arriving within ``timeout`` seconds, else None."""
        deadline = time.monotonic() + timeout
        while True:
            for i, message in enumerate(self.events):
                if message["method"] == event:
                    return self.events.pop(i)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if (message := self._receive(left)) is not None and "method" in message:
                self.events.append(message)

    def drain(self, quiet_s: float = 0.3) -> None:
        """Collect events until none arrives for ``quiet_s`` seconds."""
        while (message := self._receive(quiet_s)) is not None:
            if "method" in message:
                self.events.append(message)

    def evaluate(self, expression: str, timeout: float = 60.0) -> Any:
        """Run JavaScript in the page (promises awaited) and return its JSON value."""
        result = self.call(
            "Runtime.evaluate", {"expression": expression, "awaitPromise": True, "returnByValue": True}, timeout
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"JavaScript failed: {result['exceptionDetails']}")
        return result["result"].get("value")


@contextmanager
def chromium_page(chromium: str) -> Iterator[DevTools]:
    """A headless Chromium with one page, its Page/Network/Runtime events on and the cache off; closed after."""
    profile = Path(tempfile.mkdtemp(prefix="cookbook-chromium-"))
    with open(profile / "chromium.log", "wb") as log:
        proc = subprocess.Popen(
            [chromium, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        port = _devtools_port(proc, profile / "DevToolsActivePort")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
            page = next(t for t in json.load(answer) if t.get("type") == "page")
        tools = DevTools(page["webSocketDebuggerUrl"])
        for domain in ("Page", "Network", "Runtime"):
            tools.call(f"{domain}.enable")
        tools.call("Network.setCacheDisabled", {"cacheDisabled": True})
        yield tools
        tools.ws.close()
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)


def _devtools_port(proc: subprocess.Popen[bytes], port_file: Path, timeout_s: float = 60.0) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"chromium exited with code {proc.returncode}: see {port_file.parent / 'chromium.log'}")
        try:
            return int(port_file.read_text().splitlines()[0])
        except (FileNotFoundError, IndexError, ValueError):
            time.sleep(0.1)
    raise RuntimeError(f"chromium did not open its DevTools port in {timeout_s:.0f} s")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        pass


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on 127.0.0.1 (a free port) in a thread; yields the base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=folder))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
