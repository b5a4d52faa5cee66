"""The numbers behind the cost reports, read from the billing engine's attribution as aggregates.

Reports ask the ledger, never the tables. The ledger makes sure an attribution of the report's window exists
(calling the billing engine, `aipipe_ops.billing.attribution.attribute`, the same call as `aipipe costs`), then
aggregates its results inside DuckDB: attribution_lines (every export cent with its bucket, run and usage day),
step_costs and model_costs, joined with the lineage. It never splits a cost itself. Days are the engine's:
US/Pacific usage days, as Google's invoices count them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aipipe_ops.billing.attribution.attribute import IDLE_NAMESPACE, attribute, is_stale, latest_attribution
from aipipe_ops.billing.attribution.policies import Policy
from aipipe_ops.billing.attribution.split import split_sql
from aipipe_ops.sql import DUCKDB
from aipipe_ops.billing.normalise import UsageWindow
from aipipe_ops.lineage.audit.sql import is_push
from aipipe_ops.lineage.graph import upstream_executions_table
from aipipe_ops.workspace import Workspace

from .document import ReportParameters, share

FAILED_STATES = ("failed", "error")
ACTIVE_STATES = ("running", "pending", "new", "started")
SHARE_BUCKETS = ("direct", "idle_share", "overhead_share", "shared")
# The reconciliation's components, in the identity's order: attributed + idle + overhead + unattributed.
RECONCILIATION_PARTS = (
    ("direct", "Attributed to runs: direct", "export lines labelled with a pipeline run"),
    ("shared", "Attributed to runs: shared namespaces", "namespaces shared over the runs (--share-namespace)"),
    ("idle_share", "Idle: shared to runs", "capacity no pod requested (kube:unallocated), split over the runs"),
    ("idle", "Idle: kept separate", "capacity no pod requested, in pools no run used or under --idle separate"),
    ("overhead_share", "Overhead: shared to runs", "system reservations and the cluster fee, split over the runs"),
    ("overhead", "Overhead: kept separate", "system reservations (kube:system-overhead) and the cluster fee"),
    ("unattributed", "Unattributed", "every other line: namespaces without runs, other services, tax"),
)
# Daily columns stay readable up to about three months; longer periods are shown by ISO week.
MAX_DAILY_PERIODS = 92
NANO = Decimal("0.000000001")


def _sql_list(values: tuple[str, ...]) -> str:
    """The values as the items of an SQL IN (...) list."""
    return ", ".join(DUCKDB.quote(v) for v in values)


@dataclass
class Ledger:
    workspace: Workspace
    params: ReportParameters
    period: tuple[dt.date | None, dt.date | None] = (None, None)
    notes: list[str] = field(default_factory=list)
    attribution: dict[str, Any] | None = None

    @property
    def con(self):
        return self.workspace.con

    def _rows(self, sql: str, args: list[Any] | None = None) -> list[dict[str, Any]]:
        cursor = self.con.execute(DUCKDB.inline(sql, args or []))
        keys = [d[0] for d in cursor.description]
        return [dict(zip(keys, row)) for row in cursor.fetchall()]

    # -- the attribution --------------------------------------------------------------------------------------
    def ensure_attribution(self) -> None:
        """Use the latest attribution when it covers the report's window; else attribute the window now, with the
        policy the user last chose (`aipipe costs --idle/--shared`), or the engine's default."""
        if not self.con.execute("SELECT count(*) FROM cost_lines").fetchone()[0]:
            self.notes.append("The workspace holds no billing data: load an export with `aipipe billing load`.")
            return
        latest = latest_attribution(self.con)
        wanted = (self.params.since, self.params.until)
        stale = latest is not None and is_stale(self.con, latest["created_at"])
        if latest is None or stale or (latest["since"], latest["until"]) != wanted:
            policy = Policy()
            if latest is not None:
                policy = Policy(idle=latest["idle_policy"], shared=latest["shared_policy"],
                                share_namespaces=tuple(latest["share_namespaces"] or ()))
            attribute(self.workspace, policy, UsageWindow(*wanted))
            latest = latest_attribution(self.con)
        self.attribution = latest

    # -- scope ------------------------------------------------------------------------------------------------
    def prepare(self) -> "Ledger":
        """Materialise the attributed lines in scope once; every query below reads these temp tables."""
        self.ensure_attribution()
        self.con.execute(
            """
            CREATE OR REPLACE TEMP TABLE report_attribution_lines AS
            SELECT l.* FROM attribution_lines l
            WHERE l.attribution_id = (SELECT max(attribution_id) FROM attribution_lines)
            """)
        self._spread_shares_over_their_days()
        self.con.execute(
            """
            CREATE OR REPLACE TEMP TABLE report_costs AS
            SELECT l.run_id, coalesce(l.pipeline, r.pipeline, '(unknown)') AS pipeline, lower(r.state) AS state,
                   r.created_at, r.finished_at, (r.run_id IS NOT NULL) AS in_lineage, l.bucket,
                   coalesce(l.resource_kind, 'other') AS resource_kind, l.node_pool, l.usage_day, l.cost, l.currency
            FROM report_lines l LEFT JOIN (SELECT DISTINCT ON (run_id) * FROM runs) r USING (run_id)
            WHERE l.run_id IS NOT NULL
            """)
        if self.params.pipeline:
            self.con.execute(DUCKDB.inline("DELETE FROM report_costs WHERE pipeline <> ?", [self.params.pipeline]))
        first, last = self.con.execute("SELECT min(usage_day), max(usage_day) FROM report_lines").fetchone()
        self.period = (self.params.since or first, self.params.until or last)
        self._prepare_lineage()
        unknown = self.con.execute("SELECT count(DISTINCT run_id) FROM report_costs WHERE NOT in_lineage").fetchone()[0]
        if unknown:
            self.notes.append(
                f"{unknown} run(s) carry cost in the billing export but are not in the lineage (load the MLMD store "
                "with `aipipe lineage snapshot`): their pipeline comes from billing labels and waste leaves them out.")
        return self

    def _spread_shares_over_their_days(self) -> None:
        """The engine shares idle, overhead and shared namespaces over its whole window, so a run's share of a scope
        (currency, cluster, node pool, resource kind, namespace) carries no day. For the per-day views, each share
        is split exactly (the engine's largest-remainder split) over the days that scope's shared money was spent
        (attribution_share_detail): a run's part of Tuesday's idle GPU shows on Tuesday."""
        scope = ("bucket", "currency", "cluster", "node_pool", "resource_kind", "namespace")
        same_scope = " AND ".join(f"d.{c} IS NOT DISTINCT FROM g.{c}" for c in scope)
        self.con.execute(
            "CREATE OR REPLACE TEMP TABLE report_share_groups AS "
            "SELECT row_number() OVER () AS group_id, * FROM report_attribution_lines WHERE usage_day IS NULL")
        self.con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE report_share_days AS
            SELECT g.group_id, d.usage_day AS recipient, sum(d.cost) AS weight
            FROM report_share_groups g JOIN attribution_share_detail d
              ON d.attribution_id = g.attribution_id AND {same_scope} AND d.usage_day IS NOT NULL
            GROUP BY g.group_id, d.usage_day
            """)
        # A share whose scope has no dated detail goes on the window's last day rather than vanish from a trend.
        self.con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE report_lines AS
            SELECT * FROM report_attribution_lines WHERE usage_day IS NOT NULL
            UNION ALL BY NAME
            SELECT g.* EXCLUDE (group_id, usage_day, cost), p.recipient AS usage_day, p.amount AS cost
            FROM ({split_sql("(SELECT group_id, cost AS amount FROM report_share_groups)", "report_share_days")}) p
            JOIN report_share_groups g USING (group_id)
            UNION ALL BY NAME
            SELECT g.* EXCLUDE (group_id, usage_day),
                   (SELECT max(usage_day) FROM report_attribution_lines) AS usage_day
            FROM report_share_groups g WHERE group_id NOT IN (SELECT group_id FROM report_share_days)
            """)

    def _prepare_lineage(self) -> None:
        """Which executions and runs fed a pushed model: the provenance of every pushed model (lineage graph)."""
        pushed = [r[0] for r in self.con.execute(
            f"""
            SELECT artifact_id FROM artifacts
            WHERE kind = 'pushed_model'
              -- TFX records a PushedModel with pushed = 0 when the Pusher declined: that is no push
              AND {is_push('properties')}
            """).fetchall()]
        upstream_executions_table(self.con, "report_pushed_upstream", artifact_ids=pushed)
        # A cache hit is resolved to the execution that really produced its outputs; the hit itself (a step of
        # the consuming run) counts as useful when that origin is.
        self.con.execute(
            """
            CREATE OR REPLACE TEMP TABLE report_useful_executions AS
            WITH upstream AS (SELECT DISTINCT execution_id FROM report_pushed_upstream)
            SELECT execution_id FROM upstream
            UNION
            SELECT s.execution_id FROM steps s JOIN upstream u ON s.cached_from = u.execution_id
            UNION
            SELECT r.execution_id FROM events r
            JOIN events i ON i.artifact_id = r.artifact_id AND lower(i.direction) = 'input'
            JOIN upstream u ON u.execution_id = i.execution_id
            WHERE lower(r.direction) = 'reuse'
            """)
        self.con.execute(
            """
            CREATE OR REPLACE TEMP TABLE report_useful_runs AS
            SELECT DISTINCT s.run_id FROM steps s JOIN report_useful_executions u USING (execution_id)
            """)
        # Pipelines that deliver models: at least one of their runs, in any period, produced a pushed model. Only
        # these are judged by "did it reach a pushed model"; a batch-scoring or pretraining pipeline delivers
        # something else, and only its failed runs count as waste.
        self.con.execute(
            """
            CREATE OR REPLACE TEMP TABLE report_pushing_pipelines AS
            SELECT DISTINCT r.pipeline FROM report_pushed_upstream u
            JOIN steps s ON s.execution_id = u.execution_id AND u.hops = 1
            JOIN runs r ON r.run_id = s.run_id
            """)

    # -- what the reports ask -----------------------------------------------------------------------------------
    def currencies(self) -> list[str]:
        """Currencies with cost in scope, the largest bill first (usually there is one)."""
        rows = self.con.execute(
            "SELECT currency, sum(cost) FROM report_lines WHERE currency IS NOT NULL GROUP BY currency "
            "ORDER BY 2 DESC, 1").fetchall()
        return [r[0] for r in rows]

    def granularity(self) -> str:
        start, end = self.period
        if start and end and (end - start).days + 1 > MAX_DAILY_PERIODS:
            return "week"
        return "day"

    def week_windows(self) -> dict[str, tuple[dt.date, dt.date]] | None:
        """Last 7 days and the 7 before, ending on the period's last day; None when the period is shorter."""
        start, end = self.period
        if not start or not end or (end - start).days + 1 < 14:
            return None
        return {"last": (end - dt.timedelta(days=6), end),
                "previous": (end - dt.timedelta(days=13), end - dt.timedelta(days=7))}

    def policy(self) -> dict[str, str]:
        """The idle and shared-cost policy of the attribution, as `aipipe costs` names them."""
        if not self.attribution:
            return {"idle": "–", "overhead": "–", "source": "no attribution"}
        a = self.attribution
        idle = {"share": "shared to runs", "separate": "kept separate"}.get(a["idle_policy"], a["idle_policy"])
        shared = {"separate": "kept separate", "weighted": "shared to runs by cost",
                  "even": "shared to runs evenly"}.get(a["shared_policy"], a["shared_policy"])
        namespaces = ", ".join(a["share_namespaces"] or ())
        return {
            "idle": idle, "overhead": shared,
            "source": f"--idle {a['idle_policy']} --shared {a['shared_policy']}"
                      + (f" --share-namespace {namespaces}" if namespaces else ""),
        }

    def run_totals(self, currency: str) -> list[dict[str, Any]]:
        weeks = self.week_windows()
        last, previous = (weeks["last"], weeks["previous"]) if weeks else ((None, None), (None, None))
        rows = self._rows(
            f"""
            SELECT run_id, pipeline, any_value(state) AS state, any_value(created_at) AS started_at,
                   any_value(in_lineage) AS in_lineage, sum(cost) AS cost,
                   {', '.join(f"coalesce(sum(cost) FILTER (WHERE bucket = '{b}'), 0) AS {b}" for b in SHARE_BUCKETS)},
                   coalesce(sum(cost) FILTER (WHERE usage_day BETWEEN ? AND ?), 0) AS last_7_days,
                   coalesce(sum(cost) FILTER (WHERE usage_day BETWEEN ? AND ?), 0) AS previous_7_days
            FROM report_costs WHERE currency = ? GROUP BY run_id, pipeline ORDER BY pipeline, run_id
            """,
            [last[0], last[1], previous[0], previous[1], currency],
        )
        for row in rows:
            row["failed"] = (row["state"] or "") in FAILED_STATES
        return rows

    def trend(self, currency: str, granularity: str) -> list[dict[str, Any]]:
        return self._rows(
            """
            SELECT CAST(date_trunc(?, usage_day) AS DATE) AS period, pipeline,
                   count(DISTINCT run_id) AS runs, sum(cost) AS cost
            FROM report_costs WHERE currency = ? GROUP BY ALL ORDER BY period, pipeline
            """,
            [granularity, currency],
        )

    def run_distribution(self, currency: str) -> list[dict[str, Any]]:
        rows = self._rows(
            """
            WITH per_run AS (
                SELECT run_id, pipeline, sum(cost) AS cost FROM report_costs WHERE currency = ? GROUP BY ALL)
            SELECT pipeline, count(*) AS runs, min(cost) AS min, quantile_disc(cost, 0.25) AS p25,
                   quantile_disc(cost, 0.5) AS median, quantile_disc(cost, 0.75) AS p75,
                   quantile_disc(cost, 0.9) AS p90, max(cost) AS max, sum(cost) AS total
            FROM per_run GROUP BY pipeline ORDER BY total DESC, pipeline
            """,
            [currency],
        )
        for row in rows:
            row["mean"] = (row.pop("total") / row["runs"]).quantize(NANO)
        return rows

    def top_runs(self, currency: str, limit: int) -> list[dict[str, Any]]:
        rows = self._rows(
            """
            SELECT c.run_id, c.pipeline, any_value(c.state) AS state, any_value(c.created_at) AS started_at,
                   any_value(c.finished_at) AS finished_at, any_value(c.in_lineage) AS in_lineage,
                   sum(c.cost) AS cost, coalesce(sum(c.cost) FILTER (WHERE c.resource_kind = 'gpu'), 0) AS gpu_cost,
                   bool_or(u.run_id IS NOT NULL) AS useful
            FROM report_costs c LEFT JOIN report_useful_runs u USING (run_id)
            WHERE c.currency = ? GROUP BY c.run_id, c.pipeline ORDER BY cost DESC, c.run_id LIMIT ?
            """,
            [currency, limit],
        )
        pushing = self.pushing_pipelines()
        for row in rows:
            start, end = row["started_at"], row.pop("finished_at")
            row["duration_hours"] = (
                (Decimal((end - start).total_seconds()) / 3600).quantize(Decimal("0.001")) if start and end else None)
            row["reached_push"] = _reached_push(row.pop("useful"), row["state"], row.pop("in_lineage"),
                                                row["pipeline"] in pushing)
        return rows

    def step_totals(self, currency: str) -> list[dict[str, Any]]:
        rows = self._rows(
            """
            WITH scope AS (SELECT DISTINCT run_id, pipeline FROM report_costs)
            SELECT scope.pipeline, coalesce(sc.step, st.step, '(unnamed step)') AS step,
                   count(DISTINCT sc.execution_id) AS executions,
                   count(DISTINCT sc.execution_id) FILTER (
                       WHERE st.cached_from IS NOT NULL OR lower(st.state) = 'cached') AS cached,
                   sum(sc.cost) AS cost
            FROM step_costs sc JOIN scope USING (run_id) LEFT JOIN steps st ON st.execution_id = sc.execution_id
            WHERE sc.currency = ? GROUP BY ALL ORDER BY scope.pipeline, cost DESC, step
            """,
            [currency],
        )
        totals: dict[str, Decimal] = {}
        for row in rows:
            totals[row["pipeline"]] = totals.get(row["pipeline"], Decimal(0)) + row["cost"]
        for row in rows:
            row["cost_per_execution"] = (row["cost"] / row["executions"]).quantize(NANO) if row["executions"] else None
            row["share"] = share(row["cost"], totals[row["pipeline"]])
        return rows

    def resource_totals(self, currency: str, labels: dict[str, str]) -> list[dict[str, Any]]:
        """Per pipeline and for the whole export: cost by resource kind (named by `labels`), with shares."""
        order = list(labels)
        rows = self._rows(
            """
            SELECT pipeline, resource_kind, sum(cost) AS cost, 0 AS whole FROM report_costs WHERE currency = ?
            GROUP BY ALL
            UNION ALL
            SELECT 'Whole export', coalesce(resource_kind, 'other'), sum(cost), 1 FROM report_lines
            WHERE currency = ? GROUP BY ALL
            """,
            [currency, currency],
        )
        pipeline_cost: dict[str, Decimal] = {}
        merged: dict[tuple[str, str], dict[str, Any]] = {}
        for r in rows:
            kind = r["resource_kind"] if r["resource_kind"] in labels else "other"
            key = (r["pipeline"], labels[kind])
            entry = merged.setdefault(key, {"pipeline": r["pipeline"], "resource": labels[kind], "cost": Decimal(0),
                                            "_order": (r["whole"], r["pipeline"], order.index(kind))})
            entry["cost"] += r["cost"]
            pipeline_cost[r["pipeline"]] = pipeline_cost.get(r["pipeline"], Decimal(0)) + r["cost"]
        out = sorted(merged.values(), key=lambda e: (e["_order"][0], -pipeline_cost[e["pipeline"]], e["_order"][1:]))
        for e in out:
            e.pop("_order")
            e["share"] = share(e["cost"], pipeline_cost[e["pipeline"]])
        return out

    def pushed_models(self, currency: str) -> list[dict[str, Any]]:
        p = self.params
        rows = self._rows(
            f"""
            WITH cost AS (
                SELECT artifact_id, sum(cost) AS cost, count(DISTINCT run_id) AS contributing_runs
                FROM model_costs WHERE currency = ? GROUP BY artifact_id),
            producer AS (
                SELECT e.artifact_id, min(s.run_id) AS run_id FROM events e JOIN steps s USING (execution_id)
                WHERE lower(e.direction) = 'output' GROUP BY e.artifact_id)
            SELECT a.artifact_id, coalesce(a.name, a.uri) AS uri, a.created_at AS pushed_at,
                   coalesce(r.pipeline, '(unknown)') AS pipeline, producer.run_id,
                   cost.contributing_runs, cost.cost
            FROM cost JOIN artifacts a USING (artifact_id)
            LEFT JOIN producer USING (artifact_id) LEFT JOIN runs r ON r.run_id = producer.run_id
            WHERE a.kind = 'pushed_model'
              AND {is_push('a.properties')}
              AND (CAST(? AS VARCHAR) IS NULL OR r.pipeline = ?)
            ORDER BY a.created_at DESC, a.artifact_id
            """,
            [currency, p.pipeline, p.pipeline],
        )
        for row in rows:
            when = row["pushed_at"].astimezone(dt.timezone.utc).strftime("%b %d") if row["pushed_at"] else "?"
            row["model"] = f"{row['pipeline']} #{row['artifact_id']} ({when})"
        return rows

    def waste(self, currency: str) -> list[dict[str, Any]]:
        """Per pipeline: failed runs, finished runs that fed no pushed model, dead-end steps of the others."""
        failed, active = _sql_list(FAILED_STATES), _sql_list(ACTIVE_STATES)
        return self._rows(
            f"""
            WITH per_run AS (
                SELECT c.run_id, c.pipeline, any_value(c.state) AS state, sum(c.cost) AS cost,
                       bool_or(u.run_id IS NOT NULL) AS useful
                FROM report_costs c LEFT JOIN report_useful_runs u USING (run_id)
                WHERE c.currency = ? AND c.in_lineage GROUP BY c.run_id, c.pipeline),
            judged AS (
                SELECT *, CASE WHEN state IN ({failed}) THEN 'failed_runs'
                               WHEN state IN ({active}) THEN 'active'
                               WHEN pipeline NOT IN (SELECT pipeline FROM report_pushing_pipelines) THEN 'not_judged'
                               WHEN NOT useful THEN 'runs_without_push'
                               ELSE 'useful' END AS verdict
                FROM per_run),
            runs_waste AS (
                SELECT pipeline, verdict AS category, count(*) AS items, sum(cost) AS cost
                FROM judged WHERE verdict IN ('failed_runs', 'runs_without_push') GROUP BY ALL),
            dead_steps AS (
                SELECT j.pipeline, sc.execution_id, sum(sc.cost) AS cost
                FROM judged j JOIN step_costs sc USING (run_id)
                WHERE j.verdict = 'useful' AND sc.currency = ? AND sc.execution_id IS NOT NULL
                  AND sc.execution_id NOT IN (SELECT execution_id FROM report_useful_executions)
                GROUP BY ALL HAVING sum(sc.cost) <> 0),
            steps_waste AS (
                SELECT pipeline, 'dead_end_steps' AS category, count(*) AS items, sum(cost) AS cost
                FROM dead_steps GROUP BY ALL)
            SELECT * FROM (SELECT * FROM runs_waste UNION ALL SELECT * FROM steps_waste)
            ORDER BY pipeline, CASE category WHEN 'failed_runs' THEN 1 WHEN 'runs_without_push' THEN 2 ELSE 3 END
            """,
            [currency, currency],
        )

    def pushing_pipelines(self) -> set[str]:
        return {r[0] for r in self.con.execute("SELECT pipeline FROM report_pushing_pipelines").fetchall()}

    def idle_accelerators(self, currency: str) -> list[dict[str, Any]]:
        """GPU and TPU cost per node pool and its idle part (kube:unallocated, shared to runs or kept separate).

        Idle hours (GPU-hours, TPU chip-hours) are the idle lines' cost before credits over the SKU's hourly list
        price, from the workspace's prices table or else the price book (`aipipe prices`), found by SKU id or, when
        the book lacks the id, by the SKU's exact description; unknown (None) when neither has the SKU.
        """
        rows = self._rows(
            """
            SELECT coalesce(node_pool, '(no node pool)') AS node_pool, upper(resource_kind) AS accelerator,
                   sum(cost) AS accelerator_cost,
                   coalesce(sum(cost) FILTER (WHERE namespace = ?), 0) AS idle_cost
            FROM report_lines WHERE resource_kind IN ('gpu', 'tpu') AND currency = ?
            GROUP BY ALL ORDER BY idle_cost DESC, node_pool, accelerator
            """,
            [IDLE_NAMESPACE, currency],
        )
        p = self.params
        idle_skus = self._rows(
            """
            SELECT coalesce(node_pool, '(no node pool)') AS node_pool, upper(resource_kind) AS accelerator, sku_id,
                   any_value(sku) AS sku, sum(cost) AS gross
            FROM cost_lines
            WHERE resource_kind IN ('gpu', 'tpu') AND namespace = ? AND currency = ?
              AND (CAST(? AS DATE) IS NULL OR usage_day >= ?) AND (CAST(? AS DATE) IS NULL OR usage_day <= ?)
            GROUP BY ALL
            """,
            [IDLE_NAMESPACE, currency, p.since, p.since, p.until, p.until])
        hours: dict[tuple[str, str], Decimal | None] = {}
        for line in idle_skus:
            key = (line["node_pool"], line["accelerator"])
            price = self._hourly_price(line["sku_id"], line["sku"], currency)
            if price is None or key in hours and hours[key] is None:
                hours[key] = None
            else:
                hours[key] = hours.get(key, Decimal(0)) + line["gross"] / price
        for row in rows:
            key = (row["node_pool"], row["accelerator"])
            value = hours.get(key, Decimal(0))
            row["idle_hours"] = None if value is None else value.quantize(Decimal("0.001"))
            row["idle_share"] = share(row["idle_cost"], row["accelerator_cost"])
        return rows

    def _hourly_price(self, sku_id: str | None, description: str | None, currency: str) -> Decimal | None:
        if not sku_id:
            return None
        found = self.con.execute(DUCKDB.inline(
            "SELECT any_value(unit_price) FROM prices WHERE sku_id = ? AND currency = ? AND unit_price > 0 "
            "AND lower(unit) IN ('h', 'hour', 'hours')", [sku_id, currency])).fetchone()[0]
        if found is not None:
            return Decimal(found)
        book = self._price_book()
        price = None
        if book is not None and book.currency == currency:
            price = book.price(sku_id) or (book.price_described(description) if description else None)
        if price is None or price.usage_unit != "h" or not price.unit_price:
            return None
        return price.unit_price

    def _price_book(self):
        if not hasattr(self, "_book"):
            from aipipe_ops.errors import AipipeError
            from aipipe_ops.pricing.price_book import PriceBook

            try:
                self._book = PriceBook.load()
            except AipipeError:   # no readable price book: hours stay unknown, the report says so
                self._book = None
        return self._book

    def bucket_totals(self, currency: str) -> dict[str, Decimal]:
        """The whole export in the period by the attribution's bucket (direct, idle_share, ..., unattributed)."""
        return {r["bucket"]: r["cost"] for r in self._rows(
            "SELECT bucket, sum(cost) AS cost FROM report_lines WHERE currency = ? GROUP BY bucket", [currency])}

    def reconciliation(self, currency: str, buckets: dict[str, Decimal] | None = None) -> dict[str, Any]:
        """attributed + idle + overhead + unattributed against the export's own net total, per currency.

        The buckets are the attribution's lines (`buckets`: bucket_totals(currency) when the caller already has
        them); the export total is what the export itself says for the window (billing_export_totals, Google's
        invoice sum), so a lost or doubled cent shows as a difference.
        """
        buckets = dict(self.bucket_totals(currency) if buckets is None else buckets)   # popped below
        p = self.params
        export_total = self.con.execute(DUCKDB.inline(
            """
            SELECT coalesce(sum(net_cost), 0) FROM billing_export_totals
            WHERE currency = ? AND (CAST(? AS DATE) IS NULL OR usage_day >= ?)
              AND (CAST(? AS DATE) IS NULL OR usage_day <= ?)
            """, [currency, p.since, p.since, p.until, p.until])).fetchone()[0]
        rows = [{"component": label, "cost": buckets.pop(bucket, Decimal(0)), "detail": detail}
                for bucket, label, detail in RECONCILIATION_PARTS]
        rows += [{"component": f"Other bucket: {b}", "cost": v, "detail": "a bucket this report does not know"}
                 for b, v in sorted(buckets.items())]
        total = sum((r["cost"] for r in rows), Decimal(0))
        difference = total - export_total
        rows.append({"component": "Sum", "cost": total, "detail": "attributed + idle + overhead + unattributed"})
        rows.append({"component": "Billing export total", "cost": export_total,
                     "detail": "the export's net total (cost + credits) over the same usage days"})
        rows.append({"component": "Difference", "cost": difference, "detail": "must be zero"})
        return {"export_total": export_total, "rows": rows, "balanced": difference == 0, "difference": difference}


def _reached_push(useful: bool | None, state: str | None, in_lineage: bool, pipeline_pushes: bool) -> str:
    if not in_lineage:
        return "unknown (no lineage)"
    if (state or "") in ACTIVE_STATES:
        return "still running"
    if useful:
        return "yes"
    # A pipeline none of whose runs ever pushed a model is not judged by pushes; its failed runs still are.
    if not pipeline_pushes and (state or "") not in FAILED_STATES:
        return "n/a (pushes no models)"
    return "no"


def open_ledger(workspace: Workspace, params: ReportParameters) -> Ledger:
    return Ledger(workspace, params).prepare()
