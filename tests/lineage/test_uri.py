import pytest

from aipipe_ops.errors import ConfigError
from aipipe_ops.lineage.sources import open_source, supported_schemes
from aipipe_ops.lineage.sources.uri import parse_store_uri


def test_sqlite_forms():
    assert parse_store_uri("sqlite:///abs/m.sqlite").path == "/abs/m.sqlite"
    assert parse_store_uri("sqlite:rel/m.sqlite").path == "rel/m.sqlite"
    assert parse_store_uri("metadata.sqlite").scheme == "sqlite"


def test_mysql_defaults_and_params():
    uri = parse_store_uri("mysql://auditor@db.internal/metadb?socket=/run/m.sock")
    assert (uri.user, uri.host, uri.port, uri.database) == ("auditor", "db.internal", 3306, "metadb")
    assert uri.params == {"socket": "/run/m.sock"}
    assert uri.display == "mysql://auditor@db.internal:3306/metadb?socket=/run/m.sock"


def test_a_password_in_the_uri_is_refused_and_not_echoed():
    with pytest.raises(ConfigError, match="AIPIPE_MLMD_PASSWORD") as info:
        parse_store_uri("mysql://root:hunter2@localhost:3306/metadb")
    assert "hunter2" not in str(info.value)


def test_grpc_default_port_and_missing_pieces():
    assert parse_store_uri("grpc://localhost").port == 8080
    with pytest.raises(ConfigError, match="database"):
        parse_store_uri("mysql://root@localhost:3306")
    with pytest.raises(ConfigError, match="not a store URI"):
        parse_store_uri("localhost:8080")


def test_unknown_scheme_lists_the_supported_ones():
    assert {"sqlite", "mysql", "grpc", "grpcs"} <= set(supported_schemes())
    with pytest.raises(ConfigError, match="supported: .*grpc"):
        open_source("postgres://x@y/z")
