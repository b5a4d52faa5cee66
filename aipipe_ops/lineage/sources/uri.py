"""`--mlmd` URIs: which store to read, parsed once, printed without secrets.

    sqlite:///abs/path/metadata.sqlite     a file (URL path semantics: three slashes, then the absolute path)
    sqlite:relative/metadata.sqlite        a file relative to the working directory
    mysql://user@host:3306/metadb          MySQL/MariaDB; the password comes from AIPIPE_MLMD_PASSWORD or a prompt
    mysql://user@localhost/metadb?socket=/run/mysqld/mysqld.sock&ssl_ca=/path/ca.pem
    grpc://localhost:8080                  the KFP metadata-grpc-service (kubectl port-forward svc/metadata-grpc-service 8080)
    grpcs://host:8443?ca=/path/ca.pem      the same over TLS

A password inside the URI is refused: it would land in shell history, in `ps` and in the workspace's load log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from aipipe_ops.errors import ConfigError

PASSWORD_ENV = "AIPIPE_MLMD_PASSWORD"


@dataclass(frozen=True)
class StoreUri:
    scheme: str
    path: str | None = None          # sqlite file
    host: str | None = None
    port: int | None = None
    database: str | None = None
    user: str | None = None
    params: dict[str, str] = field(default_factory=dict)

    @property
    def display(self) -> str:
        """The URI as the user wrote it, minus anything secret (no password is ever kept)."""
        if self.scheme == "sqlite":
            return f"sqlite://{Path(self.path).resolve()}" if self.path else "sqlite://"
        user = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port else ""
        db = f"/{self.database}" if self.database else ""
        query = "&".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        return f"{self.scheme}://{user}{self.host}{port}{db}" + (f"?{query}" if query else "")


EXAMPLES = "sqlite:///path/to/metadata.sqlite, mysql://user@host:3306/metadb or grpc://localhost:8080"


def parse_store_uri(text: str) -> StoreUri:
    """Parse a --mlmd value; a bare path to an existing file or a *.sqlite/*.db name reads as sqlite."""
    text = (text or "").strip()
    if not text:
        raise ConfigError(f"--mlmd is empty: give the store as {EXAMPLES}")
    if "://" not in text and not text.startswith("sqlite:"):
        if text.endswith((".sqlite", ".db", ".sqlite3")) or Path(text).is_file():
            return StoreUri("sqlite", path=text)
        raise ConfigError(f"--mlmd {text!r} is not a store URI: expected {EXAMPLES}")
    if text.startswith("sqlite:") and not text.startswith("sqlite://"):
        path = unquote(text[len("sqlite:"):])
        return StoreUri("sqlite", path=path) if path else _missing_path(text)
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    params = dict(parse_qsl(parts.query))
    if scheme == "sqlite":
        # sqlite:///abs/path: empty host, path is absolute. sqlite://rel/path is a common slip: read it as relative.
        path = unquote((parts.netloc + parts.path) if parts.netloc else parts.path)
        if parts.netloc and not Path(path).exists():
            # Name what the user typed, not the absolute URI of a relative reading they never meant.
            raise ConfigError(f"--mlmd {text}: no store at {path} (two slashes read the rest as relative to this "
                              f"folder); for the absolute path /{path} write sqlite:///{path}")
        return StoreUri("sqlite", path=path) if path else _missing_path(text)
    if parts.password is not None:
        raise ConfigError(
            f"--mlmd {_without_password(text)}: remove the password from the URI and set {PASSWORD_ENV} instead "
            f"(a password in a URI lands in shell history, in `ps` output and in the workspace's load log)"
        )
    try:
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"--mlmd {text}: the port is not a number ({exc})") from exc
    if scheme == "mysql":
        database = parts.path.lstrip("/") or None
        if not parts.hostname and "socket" not in params:
            raise ConfigError(f"--mlmd {text}: no host; expected mysql://user@host:3306/metadb")
        if not database:
            raise ConfigError(
                f"--mlmd {text}: no database name; KFP keeps MLMD in `metadb` (mysql://root@localhost:3306/metadb)"
            )
        return StoreUri("mysql", host=parts.hostname or "localhost", port=port or 3306, database=database,
                        user=unquote(parts.username) if parts.username else "root", params=params)
    if scheme in ("grpc", "grpcs"):
        if not parts.hostname:
            raise ConfigError(f"--mlmd {text}: no host; expected grpc://localhost:8080 (after `kubectl port-forward "
                              f"svc/metadata-grpc-service 8080:8080`)")
        return StoreUri(scheme, host=parts.hostname, port=port or 8080, params=params)
    return StoreUri(scheme, host=parts.hostname, port=port, database=parts.path.lstrip("/") or None,
                    user=parts.username, params=params)


def _missing_path(text: str) -> StoreUri:
    raise ConfigError(f"--mlmd {text}: no file path; expected sqlite:///absolute/path/metadata.sqlite")


def _without_password(text: str) -> str:
    parts = urlsplit(text)
    netloc = parts.netloc.rsplit("@", 1)
    user = (parts.username or "") + ":***@" if len(netloc) == 2 else ""
    return f"{parts.scheme}://{user}{netloc[-1]}{parts.path}"
