"""The one definition of cost_lines, rendered for BigQuery (bq:// tables) and for DuckDB. Export files take DuckDB's
faster route, line_dimensions.py, built from the same KEYS and DETAILS and tested equal to `cost_lines_query`.

Export rows are never pulled out of the engine that holds them: `cost_lines_query` aggregates them there to
the grain attribution needs (one line per usage hour x SKU x cluster x node pool x namespace x run labels x
cost type x invoice month x project x currency x billing account x export batch) and only those lines travel.
The same statement also groups the rows by export batch *cell* (billing account, invoice month, usage hour,
currency, export_time; per file for files): the control totals of docs/billing.md "What a load covers", taken from
the raw rows independently of the line grouping and of any join. Net cost is computed as
Google's invoice-total query does (reference/billing.md §4.1): cost + the sum of the row's own credits, inside
the row, so credits never fan out and unlabelled rows stay in every total. The export totals that attribution
is reconciled against are rolled up from these lines per US/Pacific usage day (`export_totals_sql`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable

from aipipe_ops.sql import DUCKDB, PACIFIC, usage_days
from aipipe_ops.billing.resource_kinds import kind_case_sql
from aipipe_ops.billing.schema import REQUIRED

# Label keys (reference/billing.md §2.2, §3.1, §3.7).
CLUSTER_LABEL = "goog-k8s-cluster-name"
NODE_POOL_LABEL = "goog-k8s-node-pool-name"
NAMESPACE_LABEL = "k8s-namespace"
RUN_LABEL = "k8s-label/pipeline/runid"
WORKFLOW_LABEL = "k8s-label/workflows.argoproj.io/workflow"
VERTEX_RUN_LABEL = "vertex-ai-pipelines-run-billing-id"
# Cost labels (issue 15, docs/cost-model.md §6): GKE rows carry the pod label `aipipe/step` (stacks/
# pod_cost_labels.py, or add_cost_labels at compile time); jobs a step launches (BigQuery, Dataflow, Vertex) carry
# `aipipe-step` / `aipipe-run` (aipipe_ops/pipeline_labels.cloud_job_labels).
STEP_LABEL = "k8s-label/aipipe/step"
JOB_STEP_LABEL = "aipipe-step"
JOB_RUN_LABEL = "aipipe-run"
# A workload that is not a pipeline run (docs/cost-model.md §2 "Workloads") is named by its namespace and the first
# of these pod labels it carries, most specific first: a KServe InferenceService, a Kubeflow notebook, the
# recommended app label, the conventional app label, the label GKE's own system pods use.
WORKLOAD_LABELS = ("k8s-label/serving.kserve.io/inferenceservice", "k8s-label/notebook-name",
                   "k8s-label/app.kubernetes.io/name", "k8s-label/app", "k8s-label/k8s-app")
# Showback by any other label (`aipipe costs --by label:KEY`): a line keeps the row's other labels as one text, except
# those that name a single pod, job or run (they would split lines without telling teams apart).
PER_POD_LABELS = ("k8s-label/pod-template-hash", "k8s-label/controller-revision-hash",
                  "k8s-label/statefulset.kubernetes.io/pod-name", "k8s-label/job-name", "k8s-label/controller-uid",
                  "k8s-label/batch.kubernetes.io/job-name", "k8s-label/batch.kubernetes.io/controller-uid")
# A cloud job's `aipipe-run` and `aipipe-step` are LABEL_KEYS (not kept twice); its `aipipe-pipeline` and a stack's
# `aipipe-stack` (stacks/labels.py: the estimate's actuals find the stack's rows outside its clusters by it) are kept.
PER_POD_PREFIXES = ("k8s-label/pipelines.kubeflow.org/", "k8s-label/workflows.argoproj.io/", "k8s-label/aipipe/",
                    "k8s-label/pipeline/")
# The labels a cost line keeps; the dialect reads them all in one pass over each row's labels.
LABEL_KEYS = (CLUSTER_LABEL, NODE_POOL_LABEL, NAMESPACE_LABEL, RUN_LABEL, WORKFLOW_LABEL, VERTEX_RUN_LABEL,
              STEP_LABEL, JOB_STEP_LABEL, JOB_RUN_LABEL, *WORKLOAD_LABELS)


@dataclass(frozen=True)
class UsageWindow:
    """US/Pacific usage days, both inclusive (None = open), and optionally one invoice month (YYYYMM, as the export
    spells `invoice.month`): the invoice view, which also holds late rows and tax of other usage months.
    `days` narrows the window to those usage days (an attribution refreshing only the days a load changed)."""

    since: dt.date | None = None
    until: dt.date | None = None
    invoice_month: str | None = None
    days: tuple[dt.date, ...] | None = None

    def bounds(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        """[start, end) instants of the window."""
        from zoneinfo import ZoneInfo

        tz = ZoneInfo(PACIFIC)
        start = dt.datetime.combine(self.since, dt.time(), tz) if self.since else None
        end = dt.datetime.combine(self.until + dt.timedelta(days=1), dt.time(), tz) if self.until else None
        return start, end

    def __bool__(self) -> bool:
        return bool(self.since or self.until or self.invoice_month or self.days is not None)

    def only_days(self, days) -> "UsageWindow":
        """This window narrowed to the usage days `days`."""
        return UsageWindow(self.since, self.until, self.invoice_month, tuple(sorted(set(days))))

    def whole(self) -> "UsageWindow":
        """This window without a `days` narrowing."""
        return UsageWindow(self.since, self.until, self.invoice_month)

    def where_sql(self, alias: str = "") -> str:
        """The condition selecting the window on a relation with usage_day and invoice_month columns (`alias`
        names it), values inlined."""
        prefix = f"{alias}." if alias else ""
        out = usage_days(self.since, self.until, f"{prefix}usage_day")
        if self.invoice_month:
            out += f" AND {prefix}invoice_month = {DUCKDB.literal(self.invoice_month)}"
        if self.days is not None:
            out += f" AND {prefix}usage_day IN ({', '.join(DUCKDB.literal(d) for d in self.days) or 'NULL'})"
        return out

    def describe(self) -> str:
        """The window in words, for titles and messages."""
        parts = []
        if self.invoice_month:
            parts.append(f"invoice month {self.invoice_month[:4]}-{self.invoice_month[4:]}")
        if self.since or self.until:
            parts.append(f"usage days {self.since or '…'} to {self.until or '…'}")
        return ", ".join(parts) or "all usage days"


class Renderer:
    """Expressions over one export relation in one dialect; a column the relation lacks renders as NULL."""

    def __init__(self, dialect, present: set[str]):
        self.d = dialect
        self.present = present

    def col(self, path: str, type_name: str | None = None) -> str:
        if path in self.present:
            return self.d.col(path)
        if path in {c.path for c in REQUIRED}:
            raise AssertionError(f"required column {path} reached rendering; sources check it first")
        return self.d.null(type_name or self.d.string_type)


# The grain: each key is (name, expression). Order is the order of cost_lines' key columns.
KEYS: tuple[tuple[str, Callable[[Renderer], str]], ...] = (
    ("billing_account", lambda r: r.col("billing_account_id")),
    ("usage_start", lambda r: r.d.ts(r.col("usage_start_time"))),
    ("invoice_month", lambda r: r.col("invoice.month")),
    ("project", lambda r: r.col("project.id")),
    ("sku_id", lambda r: r.col("sku.id")),
    ("cluster", lambda r: r.d.label(CLUSTER_LABEL, LABEL_KEYS)),
    ("node_pool", lambda r: r.d.label(NODE_POOL_LABEL, LABEL_KEYS)),
    ("namespace", lambda r: r.d.label(NAMESPACE_LABEL, LABEL_KEYS)),
    # A cloud job's `aipipe-run` is the same run id as a pod's pipeline/runid (runs.py resolves both alike).
    ("run_label", lambda r: f"COALESCE({r.d.label(RUN_LABEL, LABEL_KEYS)}, {r.d.label(JOB_RUN_LABEL, LABEL_KEYS)})"),
    ("workflow", lambda r: r.d.label(WORKFLOW_LABEL, LABEL_KEYS)),
    ("vertex_run", lambda r: r.d.label(VERTEX_RUN_LABEL, LABEL_KEYS)),
    ("step_label", lambda r: f"COALESCE({r.d.label(STEP_LABEL, LABEL_KEYS)}, {r.d.label(JOB_STEP_LABEL, LABEL_KEYS)})"),
    # Where the usage ran: a resource-based commitment covers usage in its region (billing/attribution/commitments.py).
    ("region", lambda r: r.col("location.region")),
    ("workload_label", lambda r: f"COALESCE({', '.join(r.d.label(k, LABEL_KEYS) for k in WORKLOAD_LABELS)})"),
    ("kept_labels", lambda r: r.d.kept_labels(LABEL_KEYS + PER_POD_LABELS, PER_POD_PREFIXES)),
    ("currency", lambda r: r.col("currency")),
    ("cost_type", lambda r: f"COALESCE({r.col('cost_type')}, 'regular')"),
    # The export batch: Google appends rows with a later export_time and never rewrites old ones, so a line
    # belongs to exactly one batch cell (CELL_KEYS) and a reload can tell held rows from new ones.
    ("export_time", lambda r: r.d.ts(r.col("export_time", r.d.timestamp_type))),
)
# The keys read from the row's labels (the others from its own columns).
LABEL_DERIVED_KEYS = ("cluster", "node_pool", "namespace", "run_label", "workflow", "vertex_run", "step_label",
                      "workload_label", "kept_labels")
# Credits of a resource-based commitment (reference/billing.md §4.1, 2026-updates.md §3).
CUD_CREDIT_TYPES = ("COMMITTED_USAGE_DISCOUNT",)
# The cell of a line, as the line query groups it (the usage hour; the load rolls hours up to US/Pacific days).
CELL_GROUP_KEYS = ("billing_account", "invoice_month", "usage_start", "currency", "export_time")
# The identity of an export batch cell in the workspace (export_cells).
CELL_KEYS = ("billing_account", "invoice_month", "usage_day", "currency", "export_time")
# Functions of the keys (a SKU id has one description and belongs to one service): carried with ANY_VALUE.
DETAILS: tuple[tuple[str, Callable[[Renderer], str]], ...] = (
    ("service_id", lambda r: r.col("service.id")),
    ("service", lambda r: r.col("service.description")),
    ("sku", lambda r: r.col("sku.description")),
)

# cost_lines columns the query returns, in this order.
COST_LINE_COLUMNS = (
    "usage_start", "usage_day", "invoice_month", "project", "service", "service_id", "sku_id", "sku",
    "resource_kind", "cluster", "node_pool", "namespace", "run_label", "workflow", "vertex_run", "cost",
    "credits", "net_cost", "currency", "cost_type", "export_time", "export_rows", "billing_account", "step_label",
    "workload_label", "region", "usage_amount", "cud_credits", "kept_labels",
)
# What the staged query returns beyond COST_LINE_COLUMNS: is_cell (1 for a cell's control totals, 0 for a line),
# file (the file a cell's rows came from; NULL for lines and for BigQuery) and row_hash (Σ of a 64-bit hash of each
# row's values, DuckDB only: tells a file's twin from another part of the same batch inside one load) and
# dimension_digest (cells.dimension_digest_sql of the line, where computed once per combination; NULL here).
STAGED_EXTRA_COLUMNS = ("is_cell", "file", "row_hash", "dimension_digest")


def window_filter(dialect, window: UsageWindow) -> list[str]:
    """Conditions on usage_start_time selecting the window's US/Pacific days."""
    start, end = window.bounds()
    ts = dialect.ts(dialect.col("usage_start_time"))
    out = []
    if start:
        out.append(f"{ts} >= {dialect.timestamp(start)}")
    if end:
        out.append(f"{ts} < {dialect.timestamp(end)}")
    return out


def where_clause(conditions: list[str]) -> str:
    """WHERE with every condition (window_filter's), or nothing."""
    return ("WHERE " + " AND ".join(f"({c})" for c in conditions)) if conditions else ""


def cost_lines_query(dialect, source_sql: str, present: set[str], conditions: list[str],
                     file_column: str | None = None) -> str:
    """SELECT returning COST_LINE_COLUMNS + STAGED_EXTRA_COLUMNS in one scan of the export: the rows aggregated to
    the attribution grain (is_cell = 0), and the same rows grouped by export batch cell (is_cell = 1, per file when
    `file_column` names the relation's file column): rows, Σ cost, Σ credits taken from the raw rows, not from the
    lines, so they are control totals for everything downstream."""
    r = Renderer(dialect, present)
    row_cols = [f"{expr(r)} AS {name}" for name, expr in KEYS + DETAILS]
    row_cols += money_columns(dialect, present)
    key_names = [name for name, _ in KEYS]
    file_expr = f"{dialect.col(file_column)}" if file_column else dialect.null(dialect.string_type)
    row_cols.append(f"{file_expr} AS file")
    # DuckDB: one hash over each row's normalised values (fast; only ever compared inside one load), read one level
    # up because a SELECT cannot reference its own aliases.
    hashed = dialect.name == "duckdb"
    keys = ", ".join(key_names)
    for stage in dialect.label_columns(LABEL_KEYS):  # per-row helper columns the label expressions read (DuckDB)
        source_sql = f"(SELECT *, {', '.join(stage)} FROM {source_sql} {where_clause(conditions)})"
        conditions = []
    if hashed:
        plain = [c for c in row_cols if not c.endswith(" AS row_hash")]
        rows_sql = (f"SELECT *, hash({', '.join(key_names + [n for n, _ in DETAILS])}, cost, credits) AS row_hash "
                    f"FROM (SELECT {', '.join(plain)} FROM {source_sql} {where_clause(conditions)})")
        row_hash = "SUM(row_hash)"
    else:
        rows_sql = f"SELECT {', '.join(row_cols)} FROM {source_sql} {where_clause(conditions)}"
        row_hash = f"CAST(NULL AS {'HUGEINT' if dialect.name == 'duckdb' else 'NUMERIC'})"
    cell_set = ", ".join(("file",) + CELL_GROUP_KEYS)
    grouped = (
        f"SELECT {keys}, {', '.join(f'ANY_VALUE({n}) AS {n}' for n, _ in DETAILS)}, SUM(cost) AS cost, "
        f"SUM(credits) AS credits, SUM(cud_credits) AS cud_credits, SUM(usage_amount) AS usage_amount, "
        f"COUNT(*) AS export_rows, GROUPING(sku_id) AS is_cell, file, "
        f"{row_hash} AS row_hash "
        f"FROM ({rows_sql}) AS export_rows "
        f"GROUP BY GROUPING SETS (({keys}), ({cell_set}))"
    )
    derived = {
        "usage_day": dialect.pacific_day("usage_start"),
        "resource_kind": kind_case_sql("service", "sku"),
        "net_cost": "cost + credits",
        "dimension_digest": dialect.null(dialect.string_type),
    }
    columns = COST_LINE_COLUMNS + STAGED_EXTRA_COLUMNS
    select = ", ".join(f"{derived[c]} AS {c}" if c in derived else c for c in columns)
    return f"SELECT {select} FROM ({grouped}) AS lines"


def money_columns(dialect, present: set[str]) -> list[str]:
    """The per-row money and usage columns a line sums: cost, credits, cud_credits, usage_amount."""
    r = Renderer(dialect, present)
    number = "DOUBLE" if dialect.name == "duckdb" else "FLOAT64"
    return [
        f"{dialect.money(r.col('cost'))} AS cost",
        f"{dialect.credit_sum()} AS credits",
        # The commitment credits alone and the usage amount: what a commitment's fee is amortised over.
        (f"{dialect.credit_sum(CUD_CREDIT_TYPES)} AS cud_credits" if "credits.type" in present
         else f"{dialect.null(dialect.money_type)} AS cud_credits"),
        f"CAST({r.col('usage.amount', number)} AS {number}) AS usage_amount",
    ]


EXPORT_TOTAL_COLUMNS = ("usage_day", "invoice_month", "currency", "cost", "credits", "net_cost", "export_rows")

