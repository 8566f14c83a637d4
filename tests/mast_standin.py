"""A small HTTP server on 127.0.0.1 that plays MAST's file download endpoint, for tests.

It answers ``GET /api/v0.1/Download/file?uri=mast:JWST/product/<name>`` the way MAST does
for the cases the download code must handle:

* a public file: ``200`` with a ``Content-Length`` and the bytes;
* a file in ``flaky``: the first ``n`` requests send half of the body and then close the
  connection (a transfer broken mid-stream), later ones the whole file;
* a file in ``proprietary``: ``401`` unless the request carries
  ``Authorization: token <the token>``;
* any other name: ``404``;
* a name in ``silent``: the connection is accepted and the request read, but nothing is
  ever sent back (a server that hangs), until the stand-in is closed;
* a file in ``drip``: the headers at once, then the body one byte at a time, one every
  ``drip[name]`` seconds (a transfer that never stalls long enough for a read time-out);
* a file in ``content_types``: served with that ``Content-Type`` (e.g. ``text/html``).

Every request is recorded (path and headers) so tests can check what the client sent.
"""

from __future__ import annotations

import http.server
import threading
import urllib.parse
from dataclasses import dataclass, field

DOWNLOAD_PATH = "/api/v0.1/Download/file"


@dataclass
class MastStandIn:
    """Files and behaviours of the stand-in server (mutable while it runs)."""

    files: dict = field(default_factory=dict)  # name -> bytes
    flaky: dict = field(default_factory=dict)  # name -> number of broken transfers left
    proprietary: dict = field(default_factory=dict)  # name -> token that unlocks it
    requests: list = field(default_factory=list)  # (path, headers dict)
    url: str = ""
    silent: set = field(default_factory=set)  # names whose requests are never answered
    drip: dict = field(default_factory=dict)  # name -> seconds between body bytes
    content_types: dict = field(default_factory=dict)  # name -> Content-Type sent
    stop: threading.Event = field(default_factory=threading.Event)  # set on closing

    def product_requests(self, name):
        """How many requests asked for ``name``."""
        return sum(1 for path, _ in self.requests if path.endswith("/" + name))


def _handler(state: MastStandIn):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):  # keep the test log clean
            pass

        def _send_status(self, code, text):
            body = text.encode()
            self.send_response(code)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            parsed = urllib.parse.urlparse(self.path)
            uri = urllib.parse.parse_qs(parsed.query).get("uri", [""])[0]
            state.requests.append((uri, dict(self.headers)))
            prefix = "mast:JWST/product/"
            if parsed.path != DOWNLOAD_PATH or not uri.startswith(prefix):
                return self._send_status(400, "bad request")
            name = uri[len(prefix):]
            if name in state.silent:
                state.stop.wait(60)  # bounded: the stand-in sets it when it closes
                self.close_connection = True
                return
            if name not in state.files:
                return self._send_status(404, f"{name} not found")
            token = state.proprietary.get(name)
            if token is not None and self.headers.get("Authorization") != f"token {token}":
                return self._send_status(401, "Unauthorized")
            body = state.files[name]
            self.send_response(200)
            content_type = state.content_types.get(name, "application/octet-stream")
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if state.flaky.get(name, 0) > 0:
                state.flaky[name] -= 1
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            if name in state.drip:
                return self._drip(body, state.drip[name])
            self.wfile.write(body)

        def _drip(self, body, interval):
            self.close_connection = True
            for i in range(len(body)):  # bounded by the body, and ended on closing
                if state.stop.wait(interval):
                    return
                self.wfile.write(body[i : i + 1])

    return Handler


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that hangs up early (as a failing download does) is expected. Printing
        # its traceback from the server thread would also race the main thread in
        # Python 3.11's traceback formatting, which parses source with ``ast``.
        pass


class running_mast_standin:
    """Context manager: a stand-in MAST on a free loopback port; yields its state."""

    def __init__(self, state: MastStandIn | None = None):
        self.state = state or MastStandIn()

    def __enter__(self) -> MastStandIn:
        self.server = _QuietServer(("127.0.0.1", 0), _handler(self.state))
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.state.url = f"http://127.0.0.1:{self.server.server_address[1]}{DOWNLOAD_PATH}"
        return self.state

    def __exit__(self, *exc):
        self.state.stop.set()  # ends silent and dripping answers
        self.server.shutdown()
        self.server.server_close()
        return False
