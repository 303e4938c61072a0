"""A local HTTP control channel for ``tokensim fido2 serve``: plug / unplug the simulated key, touch
it, and arm relying-party faults for the next N assertions — for tests written in any language.

Routes (GET, answers JSON)::

    /                       status: powered, armed faults
    /usb<N>/power/off       unplug (the key stops answering on UDP, channels are gone)
    /usb<N>/power/on        plug in again = power cycle (PIN_AUTH_BLOCKED cleared, reset window opens)
    /usb<N>/touch/on|off    accepted; presence is decided by ``serve --presence``
    /fault?name=F&count=N   arm fault F (see :data:`tokens.fido2.authenticator.faults.NAMED`) for the
                            next N assertions (default 1); name=none disarms

The ``/usbN/...`` paths follow the USB power/touch controller python-fido2's device tests drive
(``--controller URL --pico-port N``), so those tests run unattended against ``fido2 serve``.
It listens on 127.0.0.1 only; anyone who can reach it can unplug the key and arm faults.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..errors import TransportError

log = logging.getLogger(__name__)
_PORT_PATH = re.compile(r"^/usb(\d+)/(power|touch)/(on|off)$")


class ControlServer:
    """``actions`` maps 'power/on', 'power/off', 'touch/on', 'touch/off', 'fault' and 'status' to
    callables; 'fault' takes (name, count)."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0,
                 power: Callable[[bool], None], fault: Callable[[str, int], None] | None = None,
                 status: Callable[[], dict[str, Any]] = dict) -> None:
        self.power, self.fault, self.status = power, fault, status
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                code, body = outer.route(self.path)
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("control: " + format, *args)

        try:
            self.httpd = ThreadingHTTPServer((host, port), Handler)
        except OSError as e:
            raise TransportError(f"cannot listen on http://{host}:{port}: {e.strerror or e}") from None
        self.httpd.daemon_threads = True
        self.host, self.port = str(self.httpd.server_address[0]), int(self.httpd.server_address[1])
        self._thread: threading.Thread | None = None

    def route(self, raw: str) -> tuple[int, dict[str, Any]]:
        url = urlsplit(raw)
        if url.path == "/":
            return 200, self.status()
        if (m := _PORT_PATH.match(url.path)) is not None:
            if m.group(2) == "power":
                self.power(m.group(3) == "on")
            return 200, self.status()
        if url.path == "/fault" and self.fault is not None:
            q = parse_qs(url.query)
            name = (q.get("name") or [""])[0]
            count_text = (q.get("count") or ["1"])[0]
            if not count_text.isdecimal() or not 0 < int(count_text) <= 1_000_000:
                return 400, {"error": "count must be a whole number from 1 to 1000000"}
            try:
                self.fault(name, int(count_text))
            except ValueError as e:
                return 400, {"error": str(e)}
            return 200, self.status()
        return 404, {"error": f"no such control path {url.path!r}"}

    def start(self) -> ControlServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="fido2-control", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
