"""Drive headless Chromium over the DevTools protocol on a pipe (standard library only).

Chromium started with ``--remote-debugging-pipe`` reads NUL-terminated JSON commands on
file descriptor 3 and writes replies and events on descriptor 4. That is enough to open
a page, collect console messages, exceptions and network requests, read the rendered DOM
and take a screenshot, without a websocket client.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("SOFTLABELS_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
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
    "--disable-default-apps",
    "--mute-audio",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
]


def available() -> bool:
    return os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)


@dataclass
class PageResult:
    """What a page did while it loaded."""

    console: list[dict[str, Any]] = field(default_factory=list)  # Runtime.consoleAPICalled
    exceptions: list[dict[str, Any]] = field(default_factory=list)  # Runtime.exceptionThrown
    log: list[dict[str, Any]] = field(default_factory=list)  # Log.entryAdded (CSP, network, ...)
    requests: list[str] = field(default_factory=list)  # URLs the page asked for
    values: dict[str, Any] = field(default_factory=dict)  # results of the expressions
    screenshot: bytes | None = None
    pdf: bytes | None = None

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and error-level log entries, as text."""
        out = [json.dumps(e.get("args", []))[:500] for e in self.console
               if e.get("type") == "error"]
        out += [e.get("exceptionDetails", {}).get("text", "exception") for e in self.exceptions]
        out += [e["entry"].get("text", "") for e in self.log if e["entry"].get("level") == "error"]
        return out


class _Pipe:
    def __init__(self, proc: subprocess.Popen[bytes], wfd: int, rfd: int) -> None:
        self.proc = proc
        self.w = os.fdopen(wfd, "wb", buffering=0)
        self.r = os.fdopen(rfd, "rb", buffering=0)
        self.buf = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None, timeout: float = 20.0) -> dict[str, Any]:
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self.w.write(json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" in self.buf:
                raw, self.buf = self.buf.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") == self.next_id:
                    if "error" in reply:
                        raise RuntimeError(f"{method}: {reply['error']}")
                    return reply.get("result", {})
                self.events.append(reply)
            if time.monotonic() > deadline:
                raise TimeoutError(f"no reply to {method} within {timeout} s")
            chunk = self.r.read(1 << 16)
            if not chunk:
                raise RuntimeError(f"Chromium closed the pipe during {method}")
            self.buf += chunk

    def wait_event(self, method: str, session: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {method} within {timeout} s")
            self.call("Runtime.evaluate", {"expression": "0"}, session)
            time.sleep(0.02)


class Browser:
    """One headless Chromium; each :meth:`open` loads a page in a fresh tab.

    Use as a context manager (the browser and its temporary profile are removed on
    exit)."""

    def __init__(self, width: int = 1200, height: int = 900) -> None:
        self.width, self.height = width, height
        self.profile = tempfile.mkdtemp(prefix="sl-chromium-")
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()

        def _fds() -> None:  # in the child: put the pipe ends on descriptors 3 and 4
            a, b = os.dup(to_child_r), os.dup(from_child_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={self.profile}",
             f"--window-size={width},{height}", "about:blank"],
            preexec_fn=_fds, close_fds=False, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self.pipe = _Pipe(self.proc, to_child_w, from_child_r)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.pipe.call("Browser.close", timeout=5)
        except Exception:  # noqa: BLE001 - the browser may already be gone
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.pipe.w.close()
        self.pipe.r.close()
        shutil.rmtree(self.profile, ignore_errors=True)

    def open(self, path: Path, *, expressions: dict[str, str] | None = None,
             screenshot: bool = False, pdf: bool = False) -> PageResult:
        """Load a local HTML file in a new tab, evaluate ``expressions`` (name ->
        JavaScript, run by the DevTools protocol, not by the page) and optionally take
        a full-page PNG and print it to PDF (A4, print stylesheet)."""
        pipe = self.pipe
        target = pipe.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        sid = pipe.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        pipe.events = []
        result = PageResult()
        try:
            for domain in ("Runtime", "Log", "Page", "Network"):
                pipe.call(f"{domain}.enable", session=sid)
            metrics = {"width": self.width, "height": self.height, "deviceScaleFactor": 1,
                       "mobile": False}
            pipe.call("Emulation.setDeviceMetricsOverride", metrics, sid)
            pipe.call("Page.navigate", {"url": path.resolve().as_uri()}, sid)
            pipe.wait_event("Page.loadEventFired", sid)
            for name, expr in (expressions or {}).items():
                r = pipe.call("Runtime.evaluate", {"expression": expr, "returnByValue": True},
                              sid)
                if "exceptionDetails" in r:
                    raise RuntimeError(f"expression {name!r} failed: {r['exceptionDetails']}")
                result.values[name] = r["result"].get("value")
            if screenshot:
                layout = pipe.call("Page.getLayoutMetrics", session=sid)
                size = layout.get("cssContentSize") or layout["contentSize"]
                metrics["height"] = int(min(size["height"], 16000))
                pipe.call("Emulation.setDeviceMetricsOverride", metrics, sid)
                shot = pipe.call("Page.captureScreenshot", {"format": "png"}, sid)
                result.screenshot = base64.b64decode(shot["data"])
            if pdf:
                a4 = {"paperWidth": 8.27, "paperHeight": 11.69, "preferCSSPageSize": True}
                printed = pipe.call("Page.printToPDF", a4, sid, timeout=60)
                result.pdf = base64.b64decode(printed["data"])
            pipe.call("Runtime.evaluate", {"expression": "0"}, sid)  # flush late events
        finally:
            pipe.call("Target.closeTarget", {"targetId": target})
        for e in pipe.events:
            if e.get("sessionId") != sid:
                continue
            method = e.get("method")
            params = e.get("params", {})
            if method == "Runtime.consoleAPICalled":
                result.console.append(params)
            elif method == "Runtime.exceptionThrown":
                result.exceptions.append(params)
            elif method == "Log.entryAdded":
                result.log.append(params)
            elif method == "Network.requestWillBeSent":
                result.requests.append(params.get("request", {}).get("url", ""))
        return result
