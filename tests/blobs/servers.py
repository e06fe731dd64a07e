"""A scripted HTTP server on loopback: each path answers a given sequence of replies, and every request is counted,
so tests can tell what was (and was not) fetched and how often."""

from __future__ import annotations

import ssl
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    declare_length: bool = True  # False: no Content-Length, the body ends when the connection closes


class ScriptedServer:
    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self._routes: dict[str, list[Reply]] = {}
        self.hits: Counter[str] = Counter()
        self.host_headers: list[str] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.port: int = self._server.server_address[1]
        self.host_port = f"127.0.0.1:{self.port}"
        self.scheme = "http" if tls is None else "https"

    def script(self, path: str, *replies: Reply) -> str:
        """Answer GET `path` with `replies` in turn (the last one from then on); returns the path's URL."""
        self._routes[path] = list(replies)
        return self.url(path)

    def url(self, path: str) -> str:
        return f"{self.scheme}://{self.host_port}{path}"

    def _next_reply(self, path: str) -> Reply:
        with self._lock:
            self.hits[path] += 1
            replies = self._routes.get(path) or [Reply(404, b"no such path")]
            return replies[min(self.hits[path], len(replies)) - 1]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # the name http.server calls
                server.host_headers.append(self.headers.get("Host", ""))
                reply = server._next_reply(self.path)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if reply.declare_length:
                    self.send_header("Content-Length", str(len(reply.body)))
                else:
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def __enter__(self) -> ScriptedServer:
        threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True).start()  # quick shutdown
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
