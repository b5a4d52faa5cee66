"""Does the data behind an artifact URI still exist? Local paths are checked on this machine; gs:// URIs only
when Google credentials are configured (Application Default Credentials, or STORAGE_EMULATOR_HOST for a local
GCS emulator); every other scheme (s3, minio, https...) is reported as unchecked, never as missing."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit


@dataclass(frozen=True)
class UriStatus:
    scheme: str
    exists: bool | None          # None: not checked
    reason: str = ""             # why not checked


def local_path(uri: str) -> Path | None:
    """The filesystem path of a file:// URI or a plain path; None for remote URIs."""
    if uri.startswith("file://"):
        return Path(unquote(urlsplit(uri).path))
    if "://" in uri:
        return None
    return Path(uri)


class GcsChecker:
    """Existence of gs://bucket/path as an object or as a prefix (TFX artifact URIs are directories)."""

    def __init__(self):
        self.client = None
        self.reason = ""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)   # google.api_core's Python-version notice
                from google.cloud import storage
        except ImportError:
            self.reason = "google-cloud-storage is not installed"
            return
        try:
            if os.environ.get("STORAGE_EMULATOR_HOST"):
                from google.auth.credentials import AnonymousCredentials
                self.client = storage.Client(project=os.environ.get("GOOGLE_CLOUD_PROJECT", "emulator"),
                                             credentials=AnonymousCredentials())
            else:
                import google.auth
                credentials, project = google.auth.default()
                self.client = storage.Client(project=project, credentials=credentials)
        except Exception as exc:  # DefaultCredentialsError and friends: no credentials configured
            self.reason = f"no Google credentials configured ({type(exc).__name__})"
            self.client = None

    def exists(self, uri: str) -> bool | None:
        if self.client is None:
            return None
        parts = urlsplit(uri)
        bucket, path = parts.netloc, parts.path.lstrip("/")
        blobs = list(self.client.list_blobs(bucket, prefix=path, max_results=1))
        if not blobs:
            return False
        name = blobs[0].name
        return name == path or name.startswith(path.rstrip("/") + "/") or not path


class UriChecker:
    def __init__(self, check_remote: bool = True, max_remote: int = 500):
        self.check_remote = check_remote
        self.max_remote = max_remote
        self._gcs: GcsChecker | None = None
        self.remote_checked = 0

    def status(self, uri: str) -> UriStatus:
        path = local_path(uri)
        if path is not None:
            return UriStatus("file", path.exists())
        scheme = urlsplit(uri).scheme.lower() or "?"
        if scheme != "gs":
            return UriStatus(scheme, None, f"aipipe does not check {scheme}:// URIs")
        if not self.check_remote:
            return UriStatus(scheme, None, "remote checks are off (--no-remote)")
        if self._gcs is None:
            self._gcs = GcsChecker()
        if self._gcs.client is None:
            return UriStatus(scheme, None, self._gcs.reason)
        if self.remote_checked >= self.max_remote:
            return UriStatus(scheme, None, f"only the first {self.max_remote} gs:// URIs are checked")
        self.remote_checked += 1
        return UriStatus(scheme, self._gcs.exists(uri))
