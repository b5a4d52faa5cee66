"""A local server speaking the KFP REST API v2beta1 over the sample fleet's responses
(aipipe_ops/sample/kfp_api_responses.py), for either API generation: JSON field names as in the protos, paging
with page_size / page_token / next_page_token, the created_at filter and sort, 401 without the required bearer
token, 404 for unknown paths. Pipeline versions (`pipeline_versions.json`, by id: what a run created from an uploaded
version references instead of embedding its spec) answer GET pipelines/{pipeline_id}/versions/{pipeline_version_id};
a version deleted from `versions` answers 404. Every request is recorded in `requests`; `hidden` run ids are not
served yet; a path in `failing` answers with its HTTP status."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

API = "/apis/v2beta1"


class KfpApiServer:
    def __init__(self, data: Path, generation: str, *, token: str | None = None, tag_name: str | None = None):
        self.generation = generation
        self.token = token
        self.tag_name = tag_name or ("2.17.2" if generation == "task_details" else "master")
        self.pipelines = json.loads((data / "pipelines.json").read_text())
        self.experiments = json.loads((data / "experiments.json").read_text())
        versions = data / "pipeline_versions.json"
        self.versions = json.loads(versions.read_text()) if versions.exists() else {}
        self.runs = json.loads((data / generation / "runs.json").read_text())
        if generation == "native":
            self.tasks = json.loads((data / "native" / "tasks.json").read_text())
            self.artifacts = json.loads((data / "native" / "artifacts.json").read_text())
            self.artifact_tasks = json.loads((data / "native" / "artifact_tasks.json").read_text())
        self.hidden: set[str] = set()
        self.failing: dict[str, int] = {}
        self.requests: list[str] = []
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self._http.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self._http.shutdown()
        self._http.server_close()

    # -- answers ----------------------------------------------------------------------------------------------
    def answer(self, path: str, query: dict[str, list[str]], auth: str | None) -> tuple[int, object]:
        if self.token and auth != f"Bearer {self.token}":
            return 401, {"error": "Unauthenticated", "code": 16, "message": "Unauthenticated"}
        if path in self.failing:
            status = self.failing[path]
            return status, {"error": f"failing: {path}", "code": 3, "message": f"HTTP {status} as asked"}
        one = {k: v[-1] for k, v in query.items()}
        if path == f"{API}/healthz":
            return 200, {"commit_sha": "0" * 7, "tag_name": self.tag_name, "multi_user": True}
        if path == f"{API}/runs":
            runs = [r for r in self.runs if r["run_id"] not in self.hidden]
            runs = _filtered(runs, one.get("filter"))
            if one.get("sort_by", "").startswith("created_at"):
                runs.sort(key=lambda r: (r["created_at"], r["run_id"]), reverse=one["sort_by"].endswith("desc"))
            return 200, _page(runs, "runs", one)
        parts = path[len(API) + 1:].split("/") if path.startswith(API + "/") else []
        if len(parts) == 2 and parts[0] == "runs":
            run = next((r for r in self.runs if r["run_id"] == parts[1] and r["run_id"] not in self.hidden), None)
            return (200, run) if run else _not_found(path)
        if len(parts) == 2 and parts[0] == "pipelines" and parts[1] in self.pipelines:
            return 200, self.pipelines[parts[1]]
        if len(parts) == 4 and parts[0] == "pipelines" and parts[2] == "versions":
            version = self.versions.get(parts[3])
            return (200, version) if version and version["pipeline_id"] == parts[1] else _not_found(path)
        if len(parts) == 2 and parts[0] == "experiments" and parts[1] in self.experiments:
            return 200, self.experiments[parts[1]]
        if self.generation == "native":
            if len(parts) == 3 and parts[0] == "runs" and parts[2] == "tasks" and parts[1] in self.tasks:
                return 200, _page(self.tasks[parts[1]], "tasks", one)
            if parts == ["artifacts"]:
                return 200, _page(_filtered(self.artifacts, one.get("filter")), "artifacts", one)
            if len(parts) == 2 and parts[0] == "artifacts":
                found = next((a for a in self.artifacts if a["artifact_id"] == parts[1]), None)
                return (200, found) if found else _not_found(path)
            if parts == ["artifact_tasks"]:
                run_ids = set(query.get("run_ids", []))
                edges = [e for e in self.artifact_tasks if not run_ids or e["run_id"] in run_ids]
                return 200, _page(edges, "artifact_tasks", one)
        return _not_found(path)

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                url = urlparse(self.path)
                server.requests.append(url.path)
                status, body = server.answer(url.path, parse_qs(url.query), self.headers.get("Authorization"))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        return Handler


def _not_found(path: str) -> tuple[int, dict]:
    return 404, {"error": f"Not Found: {path}", "code": 5, "message": f"Not Found: {path}"}


def _filtered(rows: list[dict], text: str | None) -> list[dict]:
    if not text:
        return list(rows)
    for p in json.loads(text).get("predicates", []):
        if p["key"] == "created_at" and p["operation"] in ("GREATER_THAN", "GREATER_THAN_EQUALS"):
            limit = _norm(p["timestamp_value"].replace("+00:00", "Z"))
            rows = [r for r in rows if _norm(r.get("created_at")) > limit
                    or (p["operation"] == "GREATER_THAN_EQUALS" and _norm(r.get("created_at")) == limit)]
    return rows


def _norm(stamp: str | None) -> str:
    # Compare as instants: both sides rendered the same way (UTC, microseconds).
    import datetime as dt
    if not stamp:
        return ""
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(dt.timezone.utc).isoformat()


def _page(rows: list, field: str, query: dict[str, str]) -> dict:
    size = int(query.get("page_size") or 20)
    start = int(base64.urlsafe_b64decode(query["page_token"]).decode()) if query.get("page_token") else 0
    body: dict = {field: rows[start:start + size], "total_size": len(rows)}
    if start + size < len(rows):
        body["next_page_token"] = base64.urlsafe_b64encode(str(start + size).encode()).decode()
    return body
