"""A loopback stand-in for every host `clue data fetch` talks to (never the internet).

`/mirror/<host>/<path>` serves plain files (point `CLUE_DATA_MIRROR` at `<url>/mirror`); `/hf/...` answers
like the Hugging Face Hub's resolve endpoint (point `HF_ENDPOINT` at `<url>/hf`): HEAD and GET of
`/datasets/<repo>/resolve/<revision>/<file>` with the headers huggingface_hub needs (X-Repo-Commit, ETag,
Content-Length). Both honour `Range` (206 + Content-Range) so resumed downloads can be tested.
"""

from __future__ import annotations

import hashlib
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HUB_PATH = re.compile(r"^/hf/datasets/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<file>.+)$")


class Mirror:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}  # "/mirror/<host>/<path>" -> body
        self.hub: dict[tuple[str, str, str], bytes] = {}  # (repo, revision, filename) -> body
        self.requests: list[tuple[str, str, str | None]] = []  # (method, path, Range header)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # noqa: ANN002
                pass

            def _send(self, body: bytes | None, head: bool, extra: dict[str, str]) -> None:
                outer.requests.append(("HEAD" if head else "GET", self.path, self.headers.get("Range")))
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                start = 0
                ask = re.match(r"bytes=(\d+)-$", self.headers.get("Range") or "")
                if ask and not head:
                    start = int(ask.group(1))
                    if start >= len(body):
                        self.send_response(416)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                for k, v in extra.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                if not head:
                    self.wfile.write(body[start:])

            def _route(self, head: bool) -> None:
                hub = HUB_PATH.match(self.path.split("?")[0])
                if hub:
                    rev = hub["rev"]
                    body = outer.hub.get((hub["repo"], rev, hub["file"]))
                    commit = rev if re.fullmatch(r"[0-9a-f]{40}", rev) else hashlib.sha1(rev.encode()).hexdigest()
                    etag = f'"{hashlib.sha256(body).hexdigest()}"' if body is not None else '""'
                    self._send(body, head, {"X-Repo-Commit": commit, "ETag": etag})
                    return
                self._send(outer.files.get(self.path.split("?")[0]), head, {})

            def do_GET(self) -> None:  # noqa: N802
                self._route(False)

            def do_HEAD(self) -> None:  # noqa: N802
                self._route(True)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def serve_url(self, url: str, body: bytes) -> None:
        """Serve `body` where the real `url` (https://host/path) lives."""
        self.files["/mirror/" + url.split("://", 1)[1]] = body

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
