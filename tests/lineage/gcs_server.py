"""A local server speaking the part of the Cloud Storage JSON API that object listing uses, so the real
google-cloud-storage client (pointed at it with STORAGE_EMULATOR_HOST) checks gs:// URIs in tests."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit


class FakeGcs:
    def __init__(self, objects: dict[str, list[str]]):
        self.objects = objects          # bucket -> object names
        self.requests: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                fake.requests.append(self.path)
                parts = urlsplit(self.path)
                segments = [unquote(s) for s in parts.path.split("/") if s]
                # /storage/v1/b/<bucket>/o
                if len(segments) == 5 and segments[:3] == ["storage", "v1", "b"] and segments[4] == "o":
                    query = parse_qs(parts.query)
                    prefix = query.get("prefix", [""])[0]
                    limit = int(query.get("maxResults", ["1000"])[0])
                    names = sorted(n for n in fake.objects.get(segments[3], []) if n.startswith(prefix))[:limit]
                    body = {"kind": "storage#objects",
                            "items": [{"kind": "storage#object", "name": n, "bucket": segments[3]} for n in names]}
                    self._send(200, body)
                elif len(segments) == 4 and segments[:3] == ["storage", "v1", "b"] and segments[3] in fake.objects:
                    self._send(200, {"kind": "storage#bucket", "name": segments[3], "id": segments[3]})
                else:
                    self._send(404, {"error": {"code": 404, "message": "not found"}})

            def _send(self, status, body):
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeGcs":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
