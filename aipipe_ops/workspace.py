"""The local analytical store: one DuckDB file holding the tables of the data contracts.

Every source (MLMD, billing export, BigQuery, price book, stack plan) is an adapter that writes these tables;
everything downstream reads only them. The file carries a schema version: a workspace written by a newer
aipipe is refused, an older one is migrated in one transaction (or left untouched if a step fails).
"""

from __future__ import annotations

import os
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator
import contextlib

import duckdb

from aipipe_ops import __version__
from aipipe_ops.errors import WorkspaceError
from aipipe_ops.sql import DUCKDB, MONEY  # values inlined, not bound (a bound one imports pandas)
# The path rule lives in workspace_path (no DuckDB import), for modules that must not need DuckDB.
from aipipe_ops.workspace_path import WORKSPACE_ENV, resolve_workspace_path

# Version 1: the tables of DESIGN.md's data contracts.
SCHEMA_V1 = f"""
CREATE TABLE runs (
    run_id       VARCHAR NOT NULL,   -- KFP run UUID (= system.PipelineRun name = pod label pipeline/runid) or TFX pipeline_run id
    pipeline     VARCHAR,
    orchestrator VARCHAR,            -- kfp-v2 | kfp-v1 | tfx
    namespace    VARCHAR,
    state        VARCHAR,
    created_at   TIMESTAMPTZ,
    finished_at  TIMESTAMPTZ,
    source       VARCHAR
);
CREATE TABLE steps (
    execution_id BIGINT NOT NULL,
    run_id       VARCHAR,
    step         VARCHAR,
    component    VARCHAR,
    state        VARCHAR,
    cached_from  BIGINT,             -- original execution of a cache hit
    pod_name     VARCHAR,
    image        VARCHAR,
    created_at   TIMESTAMPTZ,
    updated_at   TIMESTAMPTZ
);
CREATE TABLE artifacts (
    artifact_id BIGINT NOT NULL,
    kind        VARCHAR,             -- dataset, model, blessing, pushed_model, metrics, statistics, schema, anomalies, transform, other
    type_name   VARCHAR,
    uri         VARCHAR,
    state       VARCHAR,
    created_at  TIMESTAMPTZ,
    properties  JSON
);
CREATE TABLE events (
    execution_id BIGINT NOT NULL,
    artifact_id  BIGINT NOT NULL,
    direction    VARCHAR NOT NULL,   -- input | output
    role         VARCHAR             -- the input/output key as seen by that execution
);
CREATE TABLE cost_lines (
    usage_start   TIMESTAMPTZ,
    usage_day     DATE,              -- US/Pacific day, as Google's invoices count days
    invoice_month VARCHAR,
    project       VARCHAR,
    service       VARCHAR,
    sku_id        VARCHAR,
    sku           VARCHAR,
    resource_kind VARCHAR,           -- cpu, ram, gpu, tpu, disk, network, cluster_fee, other
    cluster       VARCHAR,
    node_pool     VARCHAR,
    namespace     VARCHAR,
    run_id        VARCHAR,
    workflow      VARCHAR,
    labels        MAP(VARCHAR, VARCHAR),
    cost          {MONEY},
    credits       {MONEY},
    net_cost      {MONEY},           -- cost + sum(credits)
    currency      VARCHAR,
    cost_type     VARCHAR,
    export_time   TIMESTAMPTZ,
    source        VARCHAR
);
CREATE TABLE run_costs (
    run_id    VARCHAR,
    pipeline  VARCHAR,
    bucket    VARCHAR,               -- direct, idle_share, overhead_share, shared
    resource_kind VARCHAR,
    node_pool VARCHAR,
    cost      {MONEY},
    currency  VARCHAR
);
CREATE TABLE step_costs (
    execution_id BIGINT,
    run_id    VARCHAR,
    step      VARCHAR,
    bucket    VARCHAR,
    cost      {MONEY},
    currency  VARCHAR
);
CREATE TABLE pipeline_costs (
    pipeline  VARCHAR,
    bucket    VARCHAR,
    cost      {MONEY},
    currency  VARCHAR
);
CREATE TABLE model_costs (
    artifact_id BIGINT,
    run_id    VARCHAR,
    bucket    VARCHAR,
    cost      {MONEY},
    currency  VARCHAR
);
CREATE TABLE prices (
    sku_id         VARCHAR,
    service        VARCHAR,
    description    VARCHAR,
    region         VARCHAR,
    resource_kind  VARCHAR,
    family         VARCHAR,
    usage_type     VARCHAR,          -- OnDemand | Preemptible (spot) | Commit1Yr ...
    unit           VARCHAR,
    unit_price     DECIMAL(38, 12),
    currency       VARCHAR,
    effective_time TIMESTAMPTZ,
    source         VARCHAR
);
CREATE TABLE estimate_lines (
    resource    VARCHAR,
    component   VARCHAR,
    quantity    DOUBLE,
    unit        VARCHAR,
    hourly_min  DECIMAL(38, 12),
    hourly_max  DECIMAL(38, 12),
    monthly_min DECIMAL(38, 12),
    monthly_max DECIMAL(38, 12),
    sku_id      VARCHAR
);
CREATE TABLE loads (
    load_id     BIGINT,
    kind        VARCHAR,             -- lineage | billing | prices
    source      VARCHAR,
    loaded_at   TIMESTAMPTZ,
    rows        BIGINT,
    watermark   VARCHAR              -- e.g. max(export_time) or the MLMD high-water ids, for incremental re-runs
);
"""


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[duckdb.DuckDBPyConnection], None]


def _create_v1(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SCHEMA_V1)


# Version 2: what a lineage snapshot needs beyond the contract columns (aipipe_ops/lineage). Steps, artifacts and
# events keep the MLMD type, name, properties and raw event type; mlmd_* tables mirror the contexts, associations
# and types that map executions to runs; lineage_* tables are the graph index rebuilt after each snapshot.
SCHEMA_V2_LINEAGE = """
ALTER TABLE runs ADD COLUMN context_id BIGINT;          -- MLMD id of the run context
ALTER TABLE runs ADD COLUMN workflow VARCHAR;           -- Argo workflow name when the store records it (KFP v1, TFX on KFP)
ALTER TABLE steps ADD COLUMN type_name VARCHAR;         -- MLMD execution type (system.ContainerExecution, TFX class path...)
ALTER TABLE steps ADD COLUMN name VARCHAR;              -- MLMD execution name (KFP v2 root DAG: run/<run id>)
ALTER TABLE steps ADD COLUMN dialect VARCHAR;           -- kfp-v2 | kfp-v1 | tfx | tfx-legacy
ALTER TABLE steps ADD COLUMN properties JSON;           -- properties and custom properties, merged
ALTER TABLE artifacts ADD COLUMN name VARCHAR;
ALTER TABLE artifacts ADD COLUMN updated_at TIMESTAMPTZ;
ALTER TABLE events ADD COLUMN event_type VARCHAR;       -- raw MLMD Event.Type (INPUT, OUTPUT, DECLARED_OUTPUT...)
ALTER TABLE events ADD COLUMN created_at TIMESTAMPTZ;
CREATE TABLE mlmd_types (type_id BIGINT, kind VARCHAR, name VARCHAR, version VARCHAR, base_type VARCHAR);
CREATE TABLE mlmd_contexts (context_id BIGINT, type_name VARCHAR, name VARCHAR, created_at TIMESTAMPTZ,
                            updated_at TIMESTAMPTZ, properties JSON);
CREATE TABLE mlmd_associations (context_id BIGINT, execution_id BIGINT);
CREATE TABLE mlmd_parent_contexts (child_id BIGINT, parent_id BIGINT);
CREATE TABLE mlmd_context_lookups (execution_id BIGINT);   -- executions whose contexts were read one by one
CREATE TABLE lineage_producers (artifact_id BIGINT, execution_id BIGINT, via_cache BOOLEAN);
CREATE TABLE lineage_inputs (execution_id BIGINT, artifact_id BIGINT, producer_id BIGINT, via_cache BOOLEAN);
"""


def _lineage_v2(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SCHEMA_V2_LINEAGE)


# Version 3: billing (aipipe_ops/billing). cost_lines holds export rows aggregated to the grain attribution needs
# (hour x sku x cluster x node pool x namespace x run labels x cost type x invoice month x currency; docs/billing.md),
# so it gains the number of export rows folded into each line and the raw run labels; billing_export_totals keeps
# the export's net total per US/Pacific usage day (rolled up at load) for reconciliation; attributions record the
# policy used, reconciliations the check.
SCHEMA_V3_BILLING = f"""
ALTER TABLE cost_lines ADD COLUMN service_id VARCHAR;
ALTER TABLE cost_lines ADD COLUMN run_label VARCHAR;      -- k8s-label/pipeline/runid as exported
ALTER TABLE cost_lines ADD COLUMN vertex_run VARCHAR;     -- vertex-ai-pipelines-run-billing-id
ALTER TABLE cost_lines ADD COLUMN export_rows BIGINT;     -- export rows folded into this line
ALTER TABLE cost_lines ADD COLUMN load_id BIGINT;
CREATE TABLE billing_export_totals (
    load_id BIGINT, source VARCHAR, usage_day DATE, invoice_month VARCHAR, currency VARCHAR,
    cost {MONEY}, credits {MONEY}, net_cost {MONEY}, export_rows BIGINT
);
CREATE TABLE attributions (
    attribution_id BIGINT, created_at TIMESTAMPTZ, idle_policy VARCHAR, shared_policy VARCHAR,
    share_namespaces VARCHAR[], since DATE, until DATE
);
CREATE TABLE attribution_lines (
    attribution_id BIGINT, bucket VARCHAR, run_id VARCHAR, pipeline VARCHAR, cluster VARCHAR, node_pool VARCHAR,
    namespace VARCHAR, service VARCHAR, sku_id VARCHAR, sku VARCHAR, resource_kind VARCHAR, usage_day DATE,
    cost {MONEY}, currency VARCHAR
);
CREATE TABLE reconciliations (
    attribution_id BIGINT, currency VARCHAR, export_net_total {MONEY}, buckets_total {MONEY},
    difference {MONEY}, status VARCHAR
);
-- shared money (idle_share, overhead_share, shared) by day and SKU, without runs: attribution_lines holds the
-- run shares per scope only, so `costs --by day|sku|kind` reads the day/SKU picture of shares from here.
CREATE TABLE attribution_share_detail (
    attribution_id BIGINT, bucket VARCHAR, cluster VARCHAR, node_pool VARCHAR, namespace VARCHAR, service VARCHAR,
    sku_id VARCHAR, sku VARCHAR, resource_kind VARCHAR, usage_day DATE, cost {MONEY}, currency VARCHAR
);
ALTER TABLE run_costs ADD COLUMN attribution_id BIGINT;
ALTER TABLE step_costs ADD COLUMN attribution_id BIGINT;
ALTER TABLE pipeline_costs ADD COLUMN attribution_id BIGINT;
ALTER TABLE model_costs ADD COLUMN attribution_id BIGINT;
ALTER TABLE model_costs ADD COLUMN kind VARCHAR;
"""


def _billing_v3(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SCHEMA_V3_BILLING)


# Version 4: the lineage graph index carries run ids and an execution -> producer table, so a provenance walk
# needs no join with steps (aipipe_ops/lineage/graph.py, measured in bench/bench_lineage.py).
SCHEMA_V4_LINEAGE_INDEX = """
ALTER TABLE lineage_producers ADD COLUMN run_id VARCHAR;
CREATE TABLE lineage_deps (execution_id BIGINT, producer_id BIGINT, via_cache BOOLEAN, producer_run_id VARCHAR);
"""


def _lineage_index_v4(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SCHEMA_V4_LINEAGE_INDEX)


# Version 5: what a billing load covers (aipipe_ops/billing/cells.py, docs/billing.md "What a load covers"). A cost
# line belongs to one export batch cell (billing account x invoice month x US/Pacific usage day x currency x
# export_time); export_cells holds each cell's control totals taken from the raw rows in the load's scan (rows, sums,
# a content fingerprint), and billing_export_totals is filled from them. loaded_files remembers the files a load
# read whole, so an unchanged file is skipped without a rescan. Totals loaded before version 5 become cells without
# a billing account or export_time (reload them with `aipipe billing forget` + `load` to get exact identities).
SCHEMA_V5_BILLING_CELLS = f"""
ALTER TABLE cost_lines ADD COLUMN billing_account VARCHAR;
CREATE TABLE export_cells (
    load_id BIGINT, source VARCHAR, billing_account VARCHAR, invoice_month VARCHAR, usage_day DATE,
    currency VARCHAR, export_time TIMESTAMPTZ, rows BIGINT, cost {MONEY}, credits {MONEY}, net_cost {MONEY},
    fingerprint HUGEINT
);
INSERT INTO export_cells
SELECT load_id, source, NULL, invoice_month, usage_day, currency, NULL, export_rows, cost, credits, net_cost, NULL
FROM billing_export_totals;
CREATE TABLE loaded_files (
    path VARCHAR, size BIGINT, mtime DOUBLE, content_hash VARCHAR, source VARCHAR, load_id BIGINT
);
"""


def _billing_cells_v5(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SCHEMA_V5_BILLING_CELLS)


# Version 6: exact step costs (issue 15, docs/cost-model.md §6). cost_lines keeps a row's step cost label
# (k8s-label/aipipe/step on GKE rows, aipipe-step on the cloud jobs a step launches); step_cost_methods says how
# each step's direct cost of the latest attribution was found (label, requests, duration).
SCHEMA_V6_STEP_LABELS = f"""
ALTER TABLE cost_lines ADD COLUMN step_label VARCHAR;
CREATE TABLE step_cost_methods (
    attribution_id BIGINT, execution_id BIGINT, run_id VARCHAR, method VARCHAR, cost {MONEY}, currency VARCHAR
);
"""


def _step_labels_v6(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SCHEMA_V6_STEP_LABELS)


# Version 7: the invoice view (`aipipe costs --invoice-month`): an attribution records the invoice month it covers.
SCHEMA_V7_INVOICE_MONTH = """
ALTER TABLE attributions ADD COLUMN invoice_month VARCHAR;   -- YYYYMM as the export spells it; NULL = by usage day
"""


def _invoice_month_v7(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SCHEMA_V7_INVOICE_MONTH)


# Version 8: workloads (docs/cost-model.md §2): cost lines keep the workload label of a pod that is not a pipeline
# run's; attribution lines name the workload and the project. The line fingerprint covers the new column, so the
# fingerprints of cells loaded before are dropped (their control totals still identify them; `aipipe billing load
# --replace` re-reads a source to fill the new column on its old lines).
SCHEMA_V8_WORKLOADS = """
ALTER TABLE cost_lines ADD COLUMN workload_label VARCHAR;
ALTER TABLE attribution_lines ADD COLUMN project VARCHAR;
ALTER TABLE attribution_lines ADD COLUMN workload VARCHAR;
ALTER TABLE attribution_share_detail ADD COLUMN project VARCHAR;
UPDATE export_cells SET fingerprint = NULL;
"""


def _workloads_v8(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SCHEMA_V8_WORKLOADS)


# Version 9: commitments (docs/cost-model.md §13): cost lines keep the usage region, the usage amount and the
# resource-based commitment credits, what a commitment fee is amortised over. The line fingerprint covers the region,
# so the fingerprints of cells loaded before are dropped again: loading the same source again finds the same cells by
# their control totals and rewrites their lines with the new columns (cells.py `refreshed`); the files it remembers
# are forgotten so that they are read again.
SCHEMA_V9_COMMITMENTS = f"""
ALTER TABLE cost_lines ADD COLUMN region VARCHAR;
ALTER TABLE cost_lines ADD COLUMN usage_amount DOUBLE;
ALTER TABLE cost_lines ADD COLUMN cud_credits {MONEY};
ALTER TABLE attributions ADD COLUMN commitment_policy VARCHAR;
UPDATE export_cells SET fingerprint = NULL;
DELETE FROM loaded_files;
"""


def _commitments_v9(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SCHEMA_V9_COMMITMENTS)


# Version 10: showback by any label (`aipipe costs --by label:KEY`): cost lines keep the row's other labels as one
# text, attribution lines the labels of the workload that received the money. As in version 9, held cells lose their
# fingerprint and files are read again on the next load, which rewrites their lines with the labels.
SCHEMA_V10_KEPT_LABELS = """
ALTER TABLE cost_lines ADD COLUMN kept_labels VARCHAR;
ALTER TABLE attribution_lines ADD COLUMN kept_labels VARCHAR;
ALTER TABLE attribution_share_detail ADD COLUMN kept_labels VARCHAR;
UPDATE export_cells SET fingerprint = NULL;
DELETE FROM loaded_files;
"""


def _kept_labels_v10(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SCHEMA_V10_KEPT_LABELS)


# Version 11: a line's fingerprint hashes the md5 of its dimensions instead of their whole text (computed once per
# distinct combination by the DuckDB load: docs/billing.md "Performance"). Held cells keep their old fingerprint
# until the next load recomputes it from their lines (billing/cells.upgrade_fingerprints): their lines are complete,
# so nothing needs reading again.
SCHEMA_V11_FINGERPRINT_VERSION = """
ALTER TABLE export_cells ADD COLUMN fingerprint_version INTEGER;  -- NULL: the version 1 form
"""


def _fingerprint_version_v11(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SCHEMA_V11_FINGERPRINT_VERSION)


# Version 12: cost lines keep the `aipipe-stack` and `aipipe-pipeline` labels (version 10 dropped every `aipipe-`
# label with the per-job ones). As in version 10, held cells lose their fingerprint and files are read again on the
# next load, which rewrites their lines with those labels.
SCHEMA_V12_AIPIPE_LABELS = """
UPDATE export_cells SET fingerprint = NULL, fingerprint_version = NULL;
DELETE FROM loaded_files;
"""


def _aipipe_labels_v12(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SCHEMA_V12_AIPIPE_LABELS)


# Ordered list of schema steps; a new column or table is one more entry (never edit a released one).
MIGRATIONS: list[Migration] = [
    Migration(1, "data-contract tables", _create_v1),
    Migration(2, "lineage snapshot: MLMD mirror columns, contexts, graph index", _lineage_v2),
    Migration(3, "billing: aggregated cost_lines, export totals, attributions", _billing_v3),
    Migration(4, "lineage: run ids in the graph index, execution dependencies", _lineage_index_v4),
    Migration(5, "billing: export batch cells, loaded files", _billing_cells_v5),
    Migration(6, "billing: step cost labels on cost_lines, step cost methods", _step_labels_v6),
    Migration(7, "billing: the invoice month an attribution covers", _invoice_month_v7),
    Migration(8, "billing: workloads on cost and attribution lines", _workloads_v8),
    Migration(9, "billing: commitments (region, usage amount, commitment credits)", _commitments_v9),
    Migration(10, "billing: labels kept on cost and attribution lines (showback by label)", _kept_labels_v10),
    Migration(11, "billing: the form of each export cell's fingerprint", _fingerprint_version_v11),
    Migration(12, "billing: cost lines keep the aipipe-stack and aipipe-pipeline labels", _aipipe_labels_v12),
]

CURRENT_VERSION = MIGRATIONS[-1].version

# A workspace never downloads or loads a DuckDB extension by itself: a file that is not a DuckDB database (an MLMD
# SQLite store given as --workspace) would otherwise be opened read-write through sqlite_scanner.
CONNECT_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
DUCKDB_MAGIC = b"DUCK"        # bytes 8-11 of every DuckDB database file
_SQLITE_MAGIC = b"SQLite format 3\x00"

# Connections of the open workspaces, so that Ctrl-C can interrupt a running query from another thread.
_OPEN_CONNECTIONS: "weakref.WeakSet[Workspace]" = weakref.WeakSet()


def interrupt_open_workspaces() -> None:
    """Interrupt the query running on every open workspace (safe from any thread; a no-op when none runs)."""
    for workspace in list(_OPEN_CONNECTIONS):
        try:
            workspace.con.interrupt()
        except Exception:  # noqa: BLE001 - a closed connection has nothing to interrupt
            pass


def missing_workspace_error(path: Path) -> WorkspaceError:
    return WorkspaceError(
        f"workspace {path} does not exist: load data first (e.g. `aipipe lineage snapshot` or "
        f"`aipipe billing load`), or point --workspace / {WORKSPACE_ENV} at an existing one"
    )


def check_is_duckdb_file(path: Path) -> None:
    """Refuse a file that is not a DuckDB database before DuckDB sees it (an empty file is a new database)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(16)
    except FileNotFoundError:
        return
    except IsADirectoryError:
        raise WorkspaceError(f"workspace {path} is a directory, not a DuckDB database file") from None
    except OSError as exc:
        raise WorkspaceError(f"cannot read workspace {path}: {exc.strerror}") from exc
    if not head:
        return
    if head.startswith(_SQLITE_MAGIC):
        raise WorkspaceError(f"workspace {path} is a SQLite database, not a DuckDB workspace (an MLMD store is read "
                             f"with `aipipe lineage snapshot --mlmd sqlite://{path.resolve()}`)")
    if head[8:12] != DUCKDB_MAGIC:
        raise WorkspaceError(f"workspace {path} is not a DuckDB database")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return " ".join(text.splitlines()[0].split()) if text else type(exc).__name__


class Workspace:
    """An open workspace. Use as a context manager or call close()."""

    def __init__(self, path: Path, con: duckdb.DuckDBPyConnection, read_only: bool):
        self.path = path
        self.con = con
        self.read_only = read_only

    # -- opening ---------------------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        path: str | os.PathLike | None = None,
        *,
        read_only: bool = False,
        create: bool | None = None,
        migrations: list[Migration] | None = None,
    ) -> "Workspace":
        """Open (and migrate) the workspace. `create`: make the file and its folders when missing; by default
        only a writable open creates. A command that only reads passes read_only=True or create=False, so a
        mistyped path is an error, not a new empty workspace."""
        path = resolve_workspace_path(path)
        migrations = MIGRATIONS if migrations is None else migrations
        if create is None:
            create = not read_only
        if not path.exists():
            if not create:
                raise missing_workspace_error(path)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise WorkspaceError(f"cannot create the workspace folder {path.parent}: {exc.strerror}") from exc
        check_is_duckdb_file(path)
        try:
            con = duckdb.connect(str(path), read_only=read_only, config=dict(CONNECT_CONFIG))
        except duckdb.IOException as exc:
            raise WorkspaceError(f"cannot open workspace {path}: {_first_line(exc)}") from exc
        except duckdb.Error as exc:
            raise WorkspaceError(f"workspace {path} is not a DuckDB database aipipe can read: "
                                 f"{_first_line(exc)}") from exc
        workspace = cls(path, con, read_only)
        try:
            workspace._check_and_migrate(migrations)
        except BaseException:
            con.close()
            raise
        _OPEN_CONNECTIONS.add(workspace)
        return workspace

    def _stored_version(self) -> tuple[int, str] | None:
        has_meta = self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'aipipe_schema'"
        ).fetchone()[0]
        if not has_meta:
            other = self.con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main'"
            ).fetchone()[0]
            if other:
                raise WorkspaceError(
                    f"{self.path} holds tables but no aipipe schema version: it is not an aipipe workspace"
                )
            return None
        row = self.con.execute(
            "SELECT version, written_by FROM aipipe_schema ORDER BY version DESC LIMIT 1"
        ).fetchone()
        return (int(row[0]), str(row[1])) if row else None

    def _check_and_migrate(self, migrations: list[Migration]) -> None:
        target = migrations[-1].version
        stored = self._stored_version()
        version = stored[0] if stored else 0
        if version > target:
            raise WorkspaceError(
                f"workspace {self.path} has schema version {version} (written by aipipe {stored[1]}), newer than "
                f"this aipipe {__version__} reads (version {target}): upgrade aipipe, or use another --workspace"
            )
        if version == target:
            return
        if self.read_only:
            raise WorkspaceError(
                f"workspace {self.path} has schema version {version}, older than {target}: open it once "
                f"without read-only access (any loading command) to migrate it"
            )
        pending = [m for m in migrations if m.version > version]
        # One transaction for every step: a failure leaves the workspace exactly as it was.
        self.con.execute("BEGIN TRANSACTION")
        try:
            if version == 0:
                self.con.execute(
                    "CREATE TABLE aipipe_schema (version INTEGER, description VARCHAR, written_by VARCHAR, "
                    "migrated_at TIMESTAMPTZ DEFAULT current_timestamp)"
                )
            for step in pending:
                step.apply(self.con)
                self.con.execute(DUCKDB.inline(
                    "INSERT INTO aipipe_schema (version, description, written_by) VALUES (?, ?, ?)",
                    [step.version, step.description, __version__],
                ))
            self.con.execute("COMMIT")
        except BaseException as exc:
            self.con.execute("ROLLBACK")
            raise WorkspaceError(
                f"migrating workspace {self.path} from schema version {version} to {target} failed "
                f"({exc}); the workspace was left unchanged"
            ) from exc

    @property
    def schema_version(self) -> int:
        return int(self.con.execute("SELECT max(version) FROM aipipe_schema").fetchone()[0])

    # -- use ---------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """All-or-nothing writes: a load that fails half-way leaves the tables as they were."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        else:
            self.con.execute("COMMIT")

    def table_names(self) -> list[str]:
        rows = self.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1"
        ).fetchall()
        return [r[0] for r in rows]

    def count(self, table: str) -> int:
        if table not in self.table_names():
            raise WorkspaceError(f"workspace {self.path} has no table {table!r}")
        return int(self.con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])

    def close(self) -> None:
        _OPEN_CONNECTIONS.discard(self)
        self.con.close()

    def __enter__(self) -> "Workspace":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
