"""A read-only HTTP client of the KFP REST API v2beta1: GETs only, paged, retried with a bounded backoff on 5xx
and dropped connections, a short connect timeout, a bearer token, one-line errors, every request counted.

Plain `requests` rather than kfp_server_api: the SDK client (kfp 2.13) has no native-artifact endpoints
(`runs/{id}/tasks`, `/artifacts`, `/artifact_tasks`), and one client keeps paging, retries and counting alike for
both API generations.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any, Iterator

from aipipe_ops.errors import SourceError

CONNECT_TIMEOUT_S = 3.0
READ_TIMEOUT_S = 60.0
ATTEMPTS = 4                      # bounded: 1 try + 3 retries, backoff 0.5, 1, 2 s
RETRY_STATUSES = (500, 502, 503, 504)
AUTH_HINT = ("authenticate with --token-env VAR naming an environment variable that holds a bearer token "
             "(behind IAP: export KFP_TOKEN=$(gcloud auth print-identity-token) and pass --token-env KFP_TOKEN), "
             "or with --auth adc (an ID token from application default credentials)")


class KfpApi:
    def __init__(self, base_url: str, *, token: str | None = None, namespace: str | None = None,
                 connect_timeout: float = CONNECT_TIMEOUT_S, sleep=time.sleep):
        import requests

        self.base_url = base_url.rstrip("/")
        self.namespace = namespace
        self.connect_timeout = connect_timeout
        self.calls: Counter[str] = Counter()
        self._sleep = sleep
        self._session = requests.Session()
        self._session.headers["Accept"] = "application/json"
        if token:
            self._session.headers["Authorization"] = f"Bearer {token}"

    def close(self) -> None:
        self._session.close()

    def get(self, path: str, params: dict[str, Any] | None = None, *, allow_404: bool = False) -> dict | None:
        """GET base_url + path as JSON (None for a 404 when `allow_404`); raises SourceError with the reason."""
        import requests

        url = f"{self.base_url}{path}"
        kind = path.split("?")[0]
        self.calls[_call_name(kind)] += 1
        for attempt in range(ATTEMPTS):
            try:
                response = self._session.get(url, params={k: v for k, v in (params or {}).items() if v is not None},
                                             timeout=(self.connect_timeout, READ_TIMEOUT_S), allow_redirects=False)
            except requests.exceptions.ConnectTimeout as exc:
                raise SourceError(f"KFP API {self.base_url} unreachable: no connection within "
                                  f"{self.connect_timeout:g} s") from exc
            except requests.exceptions.ConnectionError as exc:
                if _refused(exc) or attempt == ATTEMPTS - 1:
                    raise SourceError(f"KFP API {self.base_url} unreachable: {_reason(exc)}") from exc
                self._sleep(0.5 * 2 ** attempt)
                continue
            except requests.exceptions.Timeout as exc:
                raise SourceError(f"KFP API {url}: no answer within {READ_TIMEOUT_S:g} s") from exc
            if response.status_code in RETRY_STATUSES and attempt < ATTEMPTS - 1:
                self._sleep(0.5 * 2 ** attempt)
                continue
            return self._decode(url, response, allow_404)
        raise AssertionError("unreachable")

    def _decode(self, url: str, response, allow_404: bool) -> dict | None:
        status = response.status_code
        if status in (401, 403):
            what = "refused the credentials" if status == 403 else "requires authentication"
            return _raise(f"KFP API {self.base_url} {what} (HTTP {status}): {AUTH_HINT}")
        if status in (301, 302, 303, 307, 308):
            # IAP and oauth2-proxy redirect an unauthenticated browser to a login page.
            return _raise(f"KFP API {self.base_url} redirected to {response.headers.get('Location', '?')} "
                          f"(a login page?): {AUTH_HINT}")
        if status == 404 and allow_404:
            return None
        if status >= 400:
            return _raise(f"KFP API {url}: HTTP {status} {_message(response)}")
        try:
            return response.json()
        except ValueError:
            return _raise(f"KFP API {url}: not JSON (content type {response.headers.get('Content-Type', '?')}); "
                          f"is {self.base_url} the KFP API server (ml-pipeline, port 8888)?")

    def pages(self, path: str, field: str, params: dict[str, Any] | None = None,
              page_size: int = 100) -> Iterator[list[dict]]:
        """Each page of a List call (`page_token` / `next_page_token`), as the list under `field`."""
        token = None
        while True:
            page = self.get(path, {**(params or {}), "page_size": page_size, "page_token": token}) or {}
            yield page.get(field) or []
            token = page.get("next_page_token")
            if not token:
                return


def _raise(message: str):
    raise SourceError(message)


def _call_name(path: str) -> str:
    # Counted per endpoint, not per id: "GET runs/{id}/tasks", not one key per run.
    parts = path.strip("/").split("/")[2:]          # drop apis/v2beta1
    if len(parts) >= 2 and parts[0] in ("runs", "pipelines", "experiments", "artifacts"):
        parts[1] = "{id}"
    if len(parts) >= 4 and parts[0] == "pipelines" and parts[2] == "versions":
        parts[3] = "{id}"                           # pipelines/{id}/versions/{id}
    return "/".join(parts)


def _refused(exc) -> bool:
    text = repr(exc)
    return any(s in text for s in ("Connection refused", "NewConnectionError", "Name or service not known",
                                   "nodename nor servname", "No route to host", "Temporary failure in name"))


def _reason(exc) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "No route to host",
                   "Temporary failure in name resolution", "Connection reset by peer", "RemoteDisconnected"):
        if marker in text:
            return marker.lower() if marker != "RemoteDisconnected" else "the server closed the connection"
    return text.splitlines()[0][:200]


def _message(response) -> str:
    try:
        body = response.json()
        return str(body.get("message") or body.get("error") or json.dumps(body)[:200])
    except ValueError:
        return response.text[:200]
