"""Billing export files read by DuckDB: Parquet, newline-delimited JSON, CSV; one file, a glob or a directory.

Files are described one by one (a file lacking a required column is refused by name), then read together with
union_by_name, so files from an older export schema sit beside newer ones: a column only some files have reads
as NULL in the others. All aggregation runs in DuckDB; no export row is materialised in Python.

CSV has no nested records: records are dotted columns (service.id, service.description, sku.id, ...) and the
repeated records `labels` and `credits` are JSON text, as BigQuery's TO_JSON_STRING writes them.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

import duckdb

from aipipe_ops.billing import line_dimensions, normalise, schema
from aipipe_ops.sql import DUCKDB
from aipipe_ops.billing.sources import SourceOptions, StagedExport
from aipipe_ops.errors import InputError

FORMATS = {  # suffix -> format
    ".parquet": "parquet", ".pq": "parquet",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".jsonl.gz": "jsonl", ".json.gz": "jsonl",
    ".csv": "csv", ".csv.gz": "csv",
}

# Types DuckDB is told when it reads JSON or CSV (Parquet carries its own): the export's BigQuery schema.
TYPES = {
    "billing_account_id": "VARCHAR",
    "usage_start_time": "TIMESTAMPTZ",
    "export_time": "TIMESTAMPTZ",
    "cost": "DOUBLE",
    "currency": "VARCHAR",
    "cost_type": "VARCHAR",
    "service": 'STRUCT("id" VARCHAR, "description" VARCHAR)',
    "sku": 'STRUCT("id" VARCHAR, "description" VARCHAR)',
    "project": 'STRUCT("id" VARCHAR)',
    "invoice": 'STRUCT("month" VARCHAR)',
    "labels": 'STRUCT("key" VARCHAR, "value" VARCHAR)[]',
    "credits": 'STRUCT("name" VARCHAR, "amount" DOUBLE, "type" VARCHAR)[]',
    "location": 'STRUCT("region" VARCHAR)',
    "usage": 'STRUCT("amount" DOUBLE)',
}
RECORD_FIELDS = {"service": ("id", "description"), "sku": ("id", "description"), "project": ("id",),
                 "invoice": ("month",), "labels": ("key", "value"), "credits": ("amount", "type"),
                 "location": ("region",), "usage": ("amount",)}


def _format_of(path: str) -> str | None:
    name = path.lower()
    for suffix in sorted(FORMATS, key=len, reverse=True):
        if name.endswith(suffix):
            return FORMATS[suffix]
    return None


def expand(spec: str) -> list[str]:
    """The files a --billing PATH names: a file, a glob, or every export file in a directory (recursively)."""
    path = Path(spec).expanduser()
    if path.is_dir():
        files = sorted(str(p) for p in path.rglob("*") if p.is_file() and _format_of(p.name))
        where = f"directory {spec}"
    elif any(ch in spec for ch in "*?["):
        files = sorted(p for p in glob.glob(os.path.expanduser(spec), recursive=True) if os.path.isfile(p))
        where = f"pattern {spec}"
    else:
        if not path.exists():
            raise InputError(f"--billing {spec}: no such file or directory")
        files, where = [str(path)], f"file {spec}"
    if not files:
        raise InputError(f"--billing {spec}: {where} matches no billing export file (.parquet, .jsonl, .csv)")
    unknown = [f for f in files if not _format_of(f)]
    if unknown:
        raise InputError(f"--billing {spec}: {unknown[0]} is not a billing export file aipipe reads "
                         f"(.parquet, .jsonl, .json, .csv)")
    formats = {_format_of(f) for f in files}
    if len(formats) > 1:
        raise InputError(f"--billing {spec}: {where} mixes {' and '.join(sorted(formats))} files; they may hold the "
                         f"same rows twice. Point --billing at one format, e.g. {spec.rstrip('/')}/*.parquet")
    return [str(Path(f).resolve()) for f in files]


# The distinct combinations of a load's line dimensions (line_dimensions.dimensions_query).
DIMENSIONS = "_dimensions"
# The column DuckDB adds to every row with the path of the file it came from (twin files inside one load).
FILE_COLUMN = "_aipipe_file"
# Files up to this size are identified by the sha256 of their whole content; larger ones by their size and the
# sha256 of their first and last MiB (Parquet keeps its footer, with every row group's statistics, in the last MiB).
FULL_HASH_BYTES = 64 * 1024**2
EDGE_BYTES = 1024**2


def file_identity(path: str) -> dict:
    """What a file is, cheaply: size, mtime and a content hash (docs/billing.md "What a load covers")."""
    import hashlib

    st = os.stat(path)
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        if st.st_size <= FULL_HASH_BYTES:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
            kind = "sha256"
        else:
            digest.update(fh.read(EDGE_BYTES))
            fh.seek(st.st_size - EDGE_BYTES)
            digest.update(fh.read(EDGE_BYTES))
            kind = "sha256-edges"
    return {"path": path, "size": int(st.st_size), "mtime": float(st.st_mtime),
            "content_hash": f"{kind}:{st.st_size}:{digest.hexdigest()}"}


class FileSource:
    @staticmethod
    def matches(spec: str) -> bool:
        return "://" not in spec

    def __init__(self, spec: str, options: SourceOptions):
        self.spec = spec
        self.options = options
        self.files = expand(spec)
        self.format = _format_of(self.files[0])

    @property
    def canonical(self) -> str:
        path = Path(self.spec).expanduser()
        return str(path.resolve()) if path.exists() else str(Path(os.path.abspath(os.path.expanduser(self.spec))))

    # -- describing files ---------------------------------------------------------------------------------------
    def _paths_of(self, con: duckdb.DuckDBPyConnection, file: str) -> set[str]:
        try:
            if self.format == "parquet":
                rel = con.read_parquet(file)
            elif self.format == "jsonl":
                rel = con.read_json(file, format="newline_delimited")
            else:
                rel = con.read_csv(file, header=True, all_varchar=True)
            types = dict(zip(rel.columns, rel.types))
        except duckdb.Error as exc:
            raise InputError(f"{file}: cannot read it as {self.format}: {str(exc).splitlines()[0]}") from exc
        if self.format == "parquet":
            return schema.duckdb_paths(types)
        paths = set(types)
        for record, fields in RECORD_FIELDS.items():
            if record in types:
                # JSON: a record whose rows are all empty or null has no detectable fields; the read below
                # imposes the export's type, so its fields are taken as present. CSV: JSON text, the same.
                detected = schema.duckdb_paths({record: types[record]})
                known = {p.split(".", 1)[1] for p in detected if "." in p}
                paths |= {f"{record}.{f}" for f in fields if f in known or not known}
        return paths

    def describe(self, con) -> set[str]:
        """Paths present in at least one file; every file must have the required ones."""
        union: set[str] = set()
        for file in self.files:
            paths = self._paths_of(con, file)
            schema.check_columns(file, paths)
            union |= paths
        return union

    # -- reading ------------------------------------------------------------------------------------------------
    def relation_sql(self, present: set[str]) -> str:
        """The files as one relation, each row carrying its file's path in FILE_COLUMN."""
        files = DUCKDB.literal(self.files)
        named = f"filename = {DUCKDB.quote(FILE_COLUMN)}"
        if self.format == "parquet":
            return f"read_parquet({files}, union_by_name = true, {named})"
        if self.format == "jsonl":
            wanted = sorted({p.split(".", 1)[0] for p in present} & set(TYPES))
            columns = "{" + ", ".join(f"{DUCKDB.quote(c)}: {DUCKDB.quote(TYPES[c])}" for c in wanted) + "}"
            return f"read_json({files}, format = 'newline_delimited', columns = {columns}, {named})"
        return f"({self._csv_projection(files, present)})"

    def _csv_projection(self, files: str, present: set[str]) -> str:
        raw = (f"read_csv({files}, header = true, all_varchar = true, union_by_name = true, "
               f"filename = {DUCKDB.quote(FILE_COLUMN)})")
        cols = [DUCKDB.quote(FILE_COLUMN).replace("'", '"')]
        for name in ("billing_account_id", "usage_start_time", "export_time", "cost", "currency", "cost_type"):
            if name in present:
                cols.append(f'CAST("{name}" AS {TYPES[name]}) AS "{name}"')
        for record in ("service", "sku", "project", "invoice", "location", "usage"):
            fields = [f for f in RECORD_FIELDS[record] if f"{record}.{f}" in present]
            if fields:
                packed = ", ".join(f"'{f}': \"{record}.{f}\"" for f in fields)
                cols.append(f'{{{packed}}} AS "{record}"')
        for record in ("labels", "credits"):
            element = '{"key": "VARCHAR", "value": "VARCHAR"}' if record == "labels" else \
                '{"name": "VARCHAR", "amount": "DOUBLE", "type": "VARCHAR"}'
            cols.append(f"from_json(coalesce(\"{record}\", '[]'), '[{element}]') AS \"{record}\"")
        return f"SELECT {', '.join(cols)} FROM {raw}"

    def stage(self, con: duckdb.DuckDBPyConnection, window: normalise.UsageWindow) -> StagedExport:
        present = self.describe(con)
        source_sql = self.relation_sql(present)
        conditions = normalise.window_filter(DUCKDB, window)
        # The distinct combinations of the lines' dimensions first (line_dimensions.py), so that the line query
        # reads each row's labels only to hash them.
        try:
            collapse = line_dimensions.create_dimensions(con, DIMENSIONS, source_sql, present, conditions)
        except duckdb.Error as exc:
            raise self.read_error(exc) from exc
        return StagedExport(self.canonical, f"{len(self.files)} {self.format} file(s) from {self.spec}",
                            line_dimensions.lines_query(source_sql, present, conditions, FILE_COLUMN, DIMENSIONS,
                                                        collapse),
                            temp_tables=(DIMENSIONS,))

    def read_error(self, exc: duckdb.Error) -> InputError:
        return InputError(f"--billing {self.spec}: reading the {self.format} files failed: "
                          f"{str(exc).splitlines()[0]}")


SOURCE = FileSource
