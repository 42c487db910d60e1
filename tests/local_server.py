"""An HTTP file server on 127.0.0.1 for download tests, with failure injection.

It serves byte strings by path, honours single HTTP range requests (206 with
Content-Range), and can cut a response after some bytes or delay it, so that tests
exercise resuming, retries and timeouts without any other network.
"""

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Served:
    data: bytes
    cut_after: int | None = None  # close the connection after this many body bytes ...
    cuts_left: int = 0  # ... for this many responses
    delay_seconds: float = 0.0  # wait before sending the headers of a 200 or 206 response


@dataclass
class Request:
    path: str
    range: str | None
    status: int
    bytes_sent: int


@dataclass
class LocalServer:
    files: dict[str, Served] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def serve(self, path: str, data: bytes, **behaviour) -> str:
        self.files["/" + path.lstrip("/")] = Served(data, **behaviour)
        return self.url(path)

    def bytes_sent(self, path: str) -> int:
        return sum(request.bytes_sent for request in self.requests if request.path == "/" + path.lstrip("/"))


def start_server() -> tuple[LocalServer, ThreadingHTTPServer]:
    state = LocalServer()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format, *args):  # keep test output quiet
            pass

        def do_GET(self):
            served = state.files.get(self.path)
            range_header = self.headers.get("Range")
            if served is None:
                state.requests.append(Request(self.path, range_header, 404, 0))
                self.send_error(404, "Not Found")
                return
            data, start, status = served.data, 0, 200
            if range_header:
                start = int(range_header.removeprefix("bytes=").split("-")[0])
                if start >= len(data):
                    state.requests.append(Request(self.path, range_header, 416, 0))
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status = 206
            body = data[start:]
            full_length = len(body)
            if served.cut_after is not None and served.cuts_left > 0:
                served.cuts_left -= 1
                body = body[: served.cut_after]
                self.close_connection = True
            # Recorded before sending, so that the record exists as soon as the client returns.
            state.requests.append(Request(self.path, range_header, status, len(body)))
            time.sleep(served.delay_seconds)
            self.send_response(status)
            self.send_header("Content-Length", str(full_length))
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.end_headers()
            try:
                self.wfile.write(body)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return state, server
