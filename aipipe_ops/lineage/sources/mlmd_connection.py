"""Opening an MLMD store read-only through ml-metadata, with one clear message per way it can fail.

Read-only guarantees (reference/lineage.md §2.1, §7.2):
- SQLite opens with connection_mode READONLY: the library cannot write a byte, a migration included.
- MySQL connects with skip_db_creation (a SELECT-only user works) and never with enable_upgrade_migration.
- gRPC talks to the cluster's MLMD server, which owns its schema; aipipe only calls Get* methods.
The library reports most failures as a bare RuntimeError (and MySQL reports a refused connection and a bad
password with the same empty message), so the cause is found by probing before and parsing after.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import sqlite3
import tempfile
from pathlib import Path
from typing import Iterator

import ml_metadata
from ml_metadata import errors as mlmd_errors
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2

from aipipe_ops.errors import ConfigError, SourceError
from aipipe_ops.lineage.sources.uri import PASSWORD_ENV, StoreUri

# The library's schema version (ml-metadata 1.11 ... 1.17 all use 10; KFP >= 2.0.2 runs an MLMD server with 10).
LIBRARY_SCHEMA_VERSION = 10
# Large enough for a batch of a few thousand executions with their properties; the server's send limit still applies.
GRPC_MAX_RECEIVE_BYTES = 512 * 1024 * 1024
GRPC_TIMEOUT_SECONDS = 120

_OLDER = re.compile(r"MLMD database version (\d+) is older than library version (\d+)")
_NEWER = re.compile(r"MLMD database version (\d+) is greater than library version (\d+)")


def connect(uri: StoreUri, *, password_prompt=None) -> metadata_store.MetadataStore:
    """A MetadataStore for `uri` that cannot change the store; raises SourceError naming the cause."""
    if uri.scheme == "sqlite":
        return _connect_sqlite(uri)
    if uri.scheme == "mysql":
        return _connect_mysql(uri, password_prompt)
    if uri.scheme in ("grpc", "grpcs"):
        return _connect_grpc(uri)
    raise ConfigError(f"--mlmd {uri.display}: unknown scheme {uri.scheme!r}")


def sqlite_config(path: str | os.PathLike, *, read_only: bool = True) -> metadata_store_pb2.ConnectionConfig:
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = str(path)
    config.sqlite.connection_mode = (
        metadata_store_pb2.SqliteMetadataSourceConfig.READONLY if read_only
        else metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE
    )
    return config


def _connect_sqlite(uri: StoreUri) -> metadata_store.MetadataStore:
    path = Path(uri.path)
    if not path.exists():
        raise SourceError(f"MLMD store {path} does not exist (from --mlmd {uri.display}); check the path, or copy "
                          f"the store out of the cluster first")
    if not path.is_file():
        raise SourceError(f"MLMD store {path} is not a file (from --mlmd {uri.display})")
    if not os.access(path, os.R_OK):
        raise SourceError(f"MLMD store {path} is not readable by this user (from --mlmd {uri.display})")
    with open(path, "rb") as handle:
        header = handle.read(100)
    if header[:16] != b"SQLite format 3\x00":
        raise SourceError(f"{path} is not a SQLite database (from --mlmd {uri.display}); an MLMD SQLite store "
                          f"starts with the SQLite header")
    _check_sqlite_size(path, header, uri)
    try:
        with _native_stderr_silenced():
            return metadata_store.MetadataStore(sqlite_config(path, read_only=True))
    except RuntimeError as exc:
        raise _open_error(uri, exc, migrate_hint=f"aipipe lineage migrate-copy --mlmd {uri.display} --out COPY.sqlite")
    except mlmd_errors.StatusError as exc:
        raise SourceError(f"cannot open MLMD store {uri.display}: {_first_line(str(exc))}") from exc


def _check_sqlite_size(path: Path, header: bytes, uri: StoreUri) -> None:
    """A store cut short (an interrupted copy, a full disk) is named as such before the library reads it: the
    header records the page size and, when its version-valid-for number matches the change counter, the page
    count (sqlite.org/fileformat.html §1.3)."""
    size = path.stat().st_size
    if len(header) < 100:
        raise SourceError(f"MLMD store {path} is truncated: {size} bytes, shorter than a SQLite header "
                          f"(from --mlmd {uri.display}); copy the store again")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    if pages and header[24:28] == header[92:96] and size < pages * page_size:
        raise SourceError(f"MLMD store {path} is truncated: {size:,} bytes, but its SQLite header says "
                          f"{pages * page_size:,} ({pages:,} pages of {page_size:,}) (from --mlmd {uri.display}); "
                          f"copy the store again")


def sqlite_read_only(uri: StoreUri) -> sqlite3.Connection:
    """The SQLite store's file opened read-only (mode=ro: SQLite refuses every write), for the incremental
    snapshot's look at which nodes changed; the library has already checked its schema version."""
    return sqlite3.connect(f"{Path(uri.path).resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)


def _connect_mysql(uri: StoreUri, password_prompt) -> metadata_store.MetadataStore:
    password = os.environ.get(PASSWORD_ENV)
    how = f"the password from {PASSWORD_ENV}"
    if password is None and password_prompt is not None:
        password = password_prompt(f"MySQL password for {uri.user}@{uri.host}")
        how = "the password typed at the prompt"
    if password is None:
        how = f"no password ({PASSWORD_ENV} is unset)"
    config = metadata_store_pb2.ConnectionConfig()
    mysql = config.mysql
    # Exactly one of host and socket: the library aborts the whole process (a failed CHECK) when given both.
    if uri.params.get("socket"):
        mysql.socket = uri.params["socket"]
    else:
        mysql.host = uri.host
        mysql.port = int(uri.port or 3306)
    mysql.database = uri.database
    mysql.user = uri.user or "root"
    if password:
        mysql.password = password
    for key in ("ssl_ca", "ssl_cert", "ssl_key", "ssl_capath", "ssl_cipher"):
        if uri.params.get(key):
            setattr(mysql.ssl_options, key[len("ssl_"):], uri.params[key])
    if uri.params.get("ssl_verify_server_cert"):
        mysql.ssl_options.verify_server_cert = uri.params["ssl_verify_server_cert"].lower() in ("1", "true", "yes")
    # A SELECT-only user can connect only without CREATE DATABASE: never create, never migrate.
    mysql.skip_db_creation = True
    _probe_mysql_endpoint(uri)
    try:
        with _native_stderr_silenced():
            return metadata_store.MetadataStore(config, enable_upgrade_migration=False)
    except RuntimeError as exc:
        text = str(exc)
        if "mysql_real_connect failed" in text:
            raise SourceError(
                f"MySQL at {uri.display} accepted the connection but refused user {uri.user!r} with {how}: wrong "
                f"password or user; set {PASSWORD_ENV} to the password of a user with SELECT on `{uri.database}`"
            ) from exc
        if "Access denied" in text or "Unknown database" in text:
            raise SourceError(
                f"MySQL at {uri.display}: user {uri.user!r} cannot use database `{uri.database}` "
                f"({_first_line(text)}); check the database name (KFP uses `metadb`) and grant SELECT on it"
            ) from exc
        raise _open_error(uri, exc, migrate_hint=None)


def _probe_mysql_endpoint(uri: StoreUri) -> None:
    """Tell 'nothing listens there' apart from 'bad credentials', which the library reports identically."""
    sock_path = uri.params.get("socket")
    try:
        if sock_path:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                probe.settimeout(5)
                probe.connect(sock_path)
        else:
            with socket.create_connection((uri.host, int(uri.port or 3306)), timeout=5):
                pass
    except OSError as exc:
        where = f"socket {sock_path}" if sock_path else f"{uri.host}:{uri.port}"
        raise SourceError(
            f"cannot reach MySQL at {where} (from --mlmd {uri.display}): {exc.strerror or exc}; is the server up? "
            f"For KFP: kubectl -n kubeflow port-forward svc/mysql {uri.port or 3306}:3306"
        ) from exc


def _connect_grpc(uri: StoreUri) -> metadata_store.MetadataStore:
    config = metadata_store_pb2.MetadataStoreClientConfig(host=uri.host, port=int(uri.port or 8080))
    config.channel_arguments.max_receive_message_length = GRPC_MAX_RECEIVE_BYTES
    config.client_timeout_sec = float(uri.params.get("timeout", GRPC_TIMEOUT_SECONDS))
    if uri.scheme == "grpcs":
        ca = uri.params.get("ca")
        if ca:
            try:
                config.ssl_config.custom_ca = Path(ca).read_text()
            except OSError as exc:
                raise SourceError(f"cannot read the CA certificate {ca} (from --mlmd {uri.display}): {exc}") from exc
        else:
            config.ssl_config.SetInParent()
    store = metadata_store.MetadataStore(config)
    # The channel connects lazily: one cheap call tells a dead port-forward from a working server now.
    try:
        store.get_context_types()
    except mlmd_errors.UnavailableError as exc:
        if any(sign in str(exc).lower() for sign in ("http1", "http/1", "failed parsing http/2")):
            raise SourceError(
                f"{uri.host}:{uri.port} answers plain HTTP, not gRPC (from --mlmd {uri.display}): it is not an MLMD "
                f"gRPC server; point --mlmd at KFP's metadata-grpc-service (port 8080)") from exc
        raise SourceError(
            f"cannot reach the MLMD gRPC server at {uri.host}:{uri.port} (from --mlmd {uri.display}): "
            f"{_first_line(str(exc))}; is `kubectl -n kubeflow port-forward svc/metadata-grpc-service "
            f"{uri.port}:8080` running?"
        ) from exc
    except mlmd_errors.DeadlineExceededError as exc:
        raise SourceError(f"the MLMD gRPC server at {uri.host}:{uri.port} did not answer in time: "
                          f"{_first_line(str(exc))}") from exc
    except mlmd_errors.UnimplementedError as exc:
        # Something answers gRPC on that port, but not MLMD's MetadataStoreService (e.g. the grpc-web envoy proxy,
        # KFP's API server, or another service behind the same port-forward).
        raise SourceError(
            f"the gRPC server at {uri.host}:{uri.port} is not an MLMD server (from --mlmd {uri.display}): it does "
            f"not serve ml_metadata.MetadataStoreService ({_first_line(str(exc))}); point --mlmd at KFP's "
            f"metadata-grpc-service (port 8080), not metadata-envoy-service or the KFP API"
        ) from exc
    except mlmd_errors.StatusError as exc:
        raise _open_error(uri, exc, migrate_hint=None) from exc
    except Exception as exc:  # noqa: BLE001 - a server that speaks something else must not end in a traceback
        raise SourceError(f"the gRPC server at {uri.host}:{uri.port} did not answer as an MLMD server "
                          f"(from --mlmd {uri.display}): {type(exc).__name__}: {_first_line(str(exc))}") from exc
    return store


def _open_error(uri: StoreUri, exc: Exception, migrate_hint: str | None) -> SourceError:
    text = str(exc)
    lib = ml_metadata.__version__
    older = _OLDER.search(text)
    if older:
        how = (f"work on a migrated copy instead: `{migrate_hint}`, then --mlmd sqlite:///COPY.sqlite" if migrate_hint
               else "upgrade the MLMD server (KFP >= 2.0.2 runs ml_metadata_store_server 1.14, schema version 10), "
                    "or restore a dump into a scratch database and migrate that copy")
        return SourceError(
            f"MLMD store {uri.display} has schema version {older.group(1)}, older than the version "
            f"{older.group(2)} that ml-metadata {lib} reads; aipipe never migrates a store: {how}"
        )
    newer = _NEWER.search(text)
    if newer:
        return SourceError(
            f"MLMD store {uri.display} has schema version {newer.group(1)}, newer than the version {newer.group(2)} "
            f"that ml-metadata {lib} reads: use an aipipe built on a newer ml-metadata (do not downgrade the store)"
        )
    if "database disk image is malformed" in text:
        return SourceError(f"MLMD store {uri.display} is damaged: SQLite reports \"database disk image is "
                           f"malformed\" (a corrupt or partial copy?); copy the store again")
    if "readonly database" in text or "file is not a database" in text:
        return SourceError(f"{uri.display} is a SQLite file without MLMD tables (the library would have to create "
                           f"them, and aipipe opens stores read-only)")
    return SourceError(f"cannot open MLMD store {uri.display}: {_first_line(text)}")


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:300] if text.strip() else "(no detail)"


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """The C++ library logs connection failures straight to file descriptor 2; the error we raise says it better."""
    fd = 2
    try:
        saved = os.dup(fd)
    except OSError:
        yield
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), fd)
        try:
            yield
        finally:
            os.dup2(saved, fd)
            os.close(saved)
