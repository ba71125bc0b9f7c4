"""Headless Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``).

Standard library only: Chromium reads NUL-terminated JSON commands on fd 3 and
writes replies and events on fd 4, so no websocket client or driver package is
needed (Playwright's ``install`` downloads are not possible here, and
``--dump-dom`` cannot click, type or see network requests). Used by the browser
tests and ``bench/explorer.py``.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio", "--window-size=1400,860"]
CI_MISSING = "Chromium not found (apt-get install chromium; .ci/run installs it)"


def chromium_path() -> str | None:
    """The Chromium executable: $LINEAGECTL_CHROMIUM, else chromium or chromium-browser on PATH."""
    named = os.environ.get("LINEAGECTL_CHROMIUM")
    return named or shutil.which("chromium") or shutil.which("chromium-browser")


class BrowserError(RuntimeError):
    """A DevTools command failed, or the page did not get where it was asked to in time."""


class Browser:
    """One Chromium process with a fresh profile; ``page()`` opens a tab to drive."""

    def __init__(self, executable: str) -> None:
        self.profile = tempfile.mkdtemp(prefix="lineagectl-chromium-")
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        # The child's ends moved above 2..4 first, so placing them on fds 3 and 4 cannot clobber one another.
        high_r, high_w = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10), fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)

        def child_fds() -> None:
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        self.process = subprocess.Popen(
            [executable, *FLAGS, f"--user-data-dir={self.profile}", "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=child_fds, pass_fds=(3, 4))
        for fd in (to_child_r, from_child_w, high_r, high_w):
            os.close(fd)
        self._out = os.fdopen(to_child_w, "wb", buffering=0)
        self._in = os.fdopen(from_child_r, "rb", buffering=0)
        self._next_id = 0
        self._replies: dict[int, queue.Queue] = {}
        self._lock = threading.Lock()
        self.events: list[dict] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        buffer = b""
        while chunk := self._in.read(65536):
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            for raw in messages:
                message = json.loads(raw)
                if "id" in message:
                    with self._lock:
                        waiting = self._replies.get(message["id"])
                    if waiting is not None:
                        waiting.put(message)
                else:
                    self.events.append(message)

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 60) -> dict:
        """Run a DevTools command (on a page's ``session``) and return its result."""
        with self._lock:
            self._next_id += 1
            ident = self._next_id
            self._replies[ident] = queue.Queue()
        message = {"id": ident, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._out.write(json.dumps(message).encode() + b"\0")
        try:
            reply = self._replies[ident].get(timeout=timeout)
        except queue.Empty:
            raise BrowserError(f"{method}: no reply in {timeout}s") from None
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def page(self, width: int = 1400, height: int = 860) -> Page:
        """A new tab with the network, console and page events recorded."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for method in ("Network.enable", "Page.enable", "Runtime.enable", "Log.enable"):
            self.send(method, session=session)
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=session)
        return Page(self, session)

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except (BrowserError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


class Page:
    """A tab: navigate, evaluate, click, type, screenshot; what it requested and what it threw."""

    def __init__(self, browser: Browser, session: str) -> None:
        self.browser, self.session = browser, session

    def send(self, method: str, params: dict | None = None, timeout: float = 60) -> dict:
        return self.browser.send(method, params, self.session, timeout)

    def events(self, method: str) -> list[dict]:
        return [e["params"] for e in self.browser.events if e.get("sessionId") == self.session and e["method"] == method]

    def goto(self, path: Path) -> None:
        self.send("Page.navigate", {"url": path.resolve().as_uri()})

    def evaluate(self, expression: str):
        """The value of a JavaScript expression in the page (JSON-able)."""
        reply = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in reply:
            raise BrowserError(f"{expression}: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 60) -> float:
        """Poll until ``expression`` is truthy; the seconds it took."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if self.evaluate(expression):
                return time.monotonic() - start
            time.sleep(0.02)
        raise BrowserError(f"not true after {timeout}s: {expression}")

    def wait_ready(self, timeout: float = 60) -> dict:
        """Wait for ``<body data-ready="1">``; the body's data attributes."""
        self.wait_for("document.body && document.body.getAttribute('data-ready') === '1'", timeout)
        return self.body()

    def body(self) -> dict:
        return self.evaluate("Object.assign({}, document.body.dataset)")

    def click(self, x: float, y: float) -> None:
        """A real left click at page coordinates."""
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent",
                      {"type": kind, "x": x, "y": y, "button": "left" if kind != "mouseMoved" else "none",
                       "clickCount": 1})

    def type_into(self, selector: str, text: str) -> None:
        """Focus the element and type ``text`` as a user would (input events fire)."""
        self.evaluate(f"document.querySelector({json.dumps(selector)}).focus()")
        self.send("Input.insertText", {"text": text})

    def screenshot(self, path: Path) -> None:
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        path.write_bytes(base64.b64decode(data))

    def requested_urls(self) -> list[str]:
        return [e["request"]["url"] for e in self.events("Network.requestWillBeSent")]

    def exceptions(self) -> list[dict]:
        return self.events("Runtime.exceptionThrown")
