"""The numbers behind the cost reports: the billing engine's results for the report's question, shaped for reading.

Reports ask the ledger, never the tables. The ledger makes sure the latest attribution answers the report's
question -- its policy (`--idle/--shared/--share-namespace`) and window, nothing loaded since -- and otherwise
attributes the window now (`aipipe_ops.billing.attribution.attribute`, the same call as `aipipe costs`). Then it
reads the engine's results: the attribution's lines (each on its usage day), waste and run verdicts (`aipipe_ops.billing.waste`), idle accelerator hours
(`aipipe_ops.billing.idle_accelerators`), step_costs, model_costs and the reconciliation
(`aipipe_ops.billing.reconcile`). It groups, filters and orders those rows for the tables, and computes no cost
itself. Days are the engine's: US/Pacific usage days, as Google's invoices count them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aipipe_ops.billing.attribution.attribute import answers, attribute, is_stale, latest_attribution
from aipipe_ops.errors import ReconciliationError
from aipipe_ops.billing.idle_accelerators import idle_accelerators
from aipipe_ops.billing.normalise import UsageWindow
from aipipe_ops.billing.reconcile import reconcile
from aipipe_ops.billing.waste import create_delivery_tables, waste
from aipipe_ops.lineage.audit.sql import is_push
from aipipe_ops.output import plural
from aipipe_ops.sql import DUCKDB, bucket_pivot, usage_days
from aipipe_ops.vocabulary import ATTRIBUTED_BUCKETS
from aipipe_ops.workspace import Workspace

from .document import ReportParameters, share

# The reconciliation's components, in the identity's order: attributed + idle + overhead + unused commitment +
# unattributed. The first field is the bucket (the `part` a machine reads), the second what a person reads.
RECONCILIATION_PARTS = (
    ("direct", "Direct: runs and other workloads", "export lines of a pipeline run or of another workload"),
    ("shared", "Shared namespaces: shared out", "namespaces shared over the workloads (--shared, --share-namespace)"),
    ("idle_share", "Idle: shared to workloads", "capacity no pod requested (kube:unallocated), split over workloads"),
    ("idle", "Idle: kept separate", "capacity no pod requested, in pools no workload used or under --idle separate"),
    ("overhead_share", "Overhead: shared to workloads", "system reservations and the cluster fee, split over workloads"),
    ("overhead", "Overhead: kept separate", "system reservations (kube:system-overhead) and the cluster fee"),
    ("unused_commitment", "Unused commitment", "commitment fees no usage absorbed"),
    ("unattributed", "Unattributed", "every other line: other services, tax, cluster lines of no workload"),
)
# The whole bill, part by part, in the order the first screen lists them: every line of the attribution falls in
# exactly one part (Ledger.bill), so the parts add up to the attribution's total, which reconciles to the export's.
BILL_PARTS = (
    ("pipelines", "Pipeline runs", "what runs carry: their direct cost and the shares they received"),
    ("other_workloads", "Other workloads", "notebooks, model servers and other Deployments: direct cost and shares"),
    ("idle", "Idle (kept separate)", "capacity no pod requested that no workload was given"),
    ("overhead", "Overhead (kept separate)", "system reservations and cluster fees no workload was given"),
    ("unused_commitment", "Unused commitment", "commitment fees no usage absorbed"),
    ("cluster_unattributed", "Cluster lines of no workload", "on a GKE cluster, but on no run or workload "
                                                              "(node boot disks, egress)"),
    ("other_services", "Non-GKE services", "lines on no GKE cluster: other services, commitment fees"),
    ("tax", "Tax", "the export's tax lines (cost_type tax)"),
)
# Whether a run reached a pushed model, by its verdict (aipipe_ops.billing.waste.VERDICTS): true, false, or None
# when it is not judged; and what the top-runs table's pages say.
REACHED_PUSH = {"running": (None, "still running"), "not_judged": (None, "n/a (pushes no models)"),
                "failed": (False, "no"), "pushed_nothing": (False, "no"), "delivered": (True, "yes")}
NO_LINEAGE = (None, "unknown (no lineage)")
# What the pages show for a key the report has no value for (CSV and JSON leave it empty, null): the engine's own
# names (a pipeline `(unknown)`, step `(no steps in lineage)`, `(no node pool)`) are values and stay as they are.
NO_NAMESPACE = "(no namespace)"
UNNAMED_STEP = "(unnamed step)"
# Daily columns stay readable up to about three months; longer periods are shown by ISO week.
MAX_DAILY_PERIODS = 92
NANO = Decimal("0.000000001")


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
        """Reuse the latest attribution when it answers the report's question (same policy and window, nothing
        loaded since), as `aipipe costs` does; else attribute the window now with the report's policy."""
        if not self.con.execute("SELECT count(*) FROM cost_lines").fetchone()[0]:
            self.notes.append("The workspace holds no billing data: load an export with `aipipe billing load`.")
            return
        # The engine reuses the latest attribution when it answers this question, refreshes the days loaded since,
        # or attributes the window again: the same call as `aipipe costs`.
        window = UsageWindow(self.params.since, self.params.until)
        try:
            attribute(self.workspace, self.params.policy, window, incremental=True)
        except ReconciliationError:
            # The stored attribution answers the question but its lines no longer add up to the export: the report
            # is still written, with the difference on its first screen and a warning (never a silent "ok").
            latest = latest_attribution(self.con)
            if not answers(latest, self.params.policy, window) or is_stale(self.con, latest["created_at"]):
                raise
        self.attribution = latest_attribution(self.con)

    # -- scope ------------------------------------------------------------------------------------------------
    def prepare(self) -> "Ledger":
        """Materialise the attributed lines in scope once; every query below reads these temp tables."""
        self.ensure_attribution()
        aid = self.attribution["attribution_id"] if self.attribution else -1
        # Every attribution line carries its usage day (shares are per day: docs/cost-model.md §12).
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE report_lines AS SELECT * FROM attribution_lines "
                         f"WHERE attribution_id = {int(aid)}")
        create_delivery_tables(self.con)
        self.con.execute(
            """
            CREATE OR REPLACE TEMP TABLE report_costs AS
            SELECT l.run_id, coalesce(l.pipeline, v.pipeline, '(unknown)') AS pipeline, v.state, v.verdict,
                   v.delivered, r.created_at, r.finished_at, (v.run_id IS NOT NULL) AS in_lineage, l.bucket,
                   coalesce(l.resource_kind, 'other') AS resource_kind, l.node_pool, l.usage_day, l.cost, l.currency
            FROM report_lines l LEFT JOIN run_verdicts v USING (run_id)
            LEFT JOIN (SELECT DISTINCT ON (run_id) run_id, created_at, finished_at FROM runs) r USING (run_id)
            WHERE l.run_id IS NOT NULL
            """)
        if self.params.pipeline:
            self.con.execute(DUCKDB.inline("DELETE FROM report_costs WHERE pipeline <> ?", [self.params.pipeline]))
        first, last = self.con.execute("SELECT min(usage_day), max(usage_day) FROM report_lines").fetchone()
        self.period = (self.params.since or first, self.params.until or last)
        unknown = self.con.execute("SELECT count(DISTINCT run_id) FROM report_costs WHERE NOT in_lineage").fetchone()[0]
        if unknown:
            one = unknown == 1
            self.notes.append(
                f"{plural(unknown, 'run')} {'carries' if one else 'carry'} cost in the billing export but "
                f"{'is' if one else 'are'} not in the lineage (load the MLMD store with `aipipe lineage snapshot`): "
                f"{'its' if one else 'their'} pipeline comes from billing labels and waste leaves {'it' if one else 'them'} "
                "out.")
        return self

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
        """The idle and shared-cost policy of the attribution the report reads, named for a reader."""
        if not self.attribution:
            return {"idle": "–", "overhead": "–", "source": "no attribution"}
        a = self.attribution
        idle = {"share": "shared to workloads", "separate": "kept separate"}.get(a["idle_policy"], a["idle_policy"])
        shared = {"separate": "kept separate", "weighted": "shared to workloads by cost",
                  "even": "shared to workloads evenly"}.get(a["shared_policy"], a["shared_policy"])
        commitments = a.get("commitment_policy") or "separate"
        options = [f"--idle {a['idle_policy']}", f"--shared {a['shared_policy']}",
                   *(f"--share-namespace {ns}" for ns in a["share_namespaces"] or ()), f"--commitments {commitments}"]
        return {"idle": idle, "overhead": shared,
                "commitments": {"amortize": "amortised over the usage they covered",
                                "separate": "kept separate"}.get(commitments, commitments),
                "source": " ".join(options)}

    def run_totals(self, currency: str) -> list[dict[str, Any]]:
        weeks = self.week_windows()
        last, previous = (weeks["last"], weeks["previous"]) if weeks else (None, None)

        def days(window) -> str:
            return usage_days(*window) if window else "false"

        return self._rows(
            f"""
            SELECT run_id, pipeline, any_value(state) AS state, any_value(created_at) AS started_at,
                   any_value(in_lineage) AS in_lineage, coalesce(any_value(verdict) = 'failed', false) AS failed,
                   sum(cost) AS cost, {bucket_pivot(ATTRIBUTED_BUCKETS)},
                   coalesce(sum(cost) FILTER (WHERE {days(last)}), 0) AS last_7_days,
                   coalesce(sum(cost) FILTER (WHERE {days(previous)}), 0) AS previous_7_days
            FROM report_costs WHERE currency = ? GROUP BY run_id, pipeline ORDER BY pipeline, run_id
            """,
            [currency],
        )

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
            SELECT run_id, pipeline, any_value(state) AS state, any_value(created_at) AS started_at,
                   any_value(finished_at) AS finished_at, any_value(verdict) AS verdict,
                   any_value(delivered) AS delivered, sum(cost) AS cost,
                   coalesce(sum(cost) FILTER (WHERE resource_kind = 'gpu'), 0) AS gpu_cost
            FROM report_costs WHERE currency = ? GROUP BY run_id, pipeline ORDER BY cost DESC, run_id LIMIT ?
            """,
            [currency, limit],
        )
        for row in rows:
            start, end = row["started_at"], row.pop("finished_at")
            row["duration_hours"] = (
                (Decimal((end - start).total_seconds()) / 3600).quantize(Decimal("0.001")) if start and end else None)
            row["reached_push"], row["reached_push_text"] = _reached_push(row.pop("verdict"), row.pop("delivered"))
        return rows

    def step_totals(self, currency: str) -> list[dict[str, Any]]:
        # A step no name is known for has none (null; the pages say UNNAMED_STEP, and sort it as that text).
        rows = self._rows(
            f"""
            WITH scope AS (SELECT DISTINCT run_id, pipeline FROM report_costs),
            totals AS (
                SELECT scope.pipeline, coalesce(sc.step, st.step) AS step,
                       count(DISTINCT sc.execution_id) AS executions,
                       count(DISTINCT sc.execution_id) FILTER (
                           WHERE st.cached_from IS NOT NULL OR lower(st.state) = 'cached') AS cached,
                       sum(sc.cost) AS cost
                FROM step_costs sc JOIN scope USING (run_id) LEFT JOIN steps st ON st.execution_id = sc.execution_id
                WHERE sc.currency = ? GROUP BY ALL)
            SELECT * FROM totals ORDER BY pipeline, cost DESC, coalesce(step, {DUCKDB.literal(UNNAMED_STEP)})
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

    def resource_totals(self, currency: str, kinds: list[str]) -> list[dict[str, Any]]:
        """Per pipeline and for the whole export (scope `whole_export`, no pipeline): cost by resource kind, in
        the order of `kinds` (a kind not in it counts as `other`), with shares."""
        rows = self._rows(
            """
            SELECT pipeline, resource_kind, sum(cost) AS cost, 0 AS whole FROM report_costs WHERE currency = ?
            GROUP BY ALL
            UNION ALL
            SELECT NULL, coalesce(resource_kind, 'other'), sum(cost), 1 FROM report_lines
            WHERE currency = ? GROUP BY ALL
            """,
            [currency, currency],
        )
        # Keyed by scope too: a pipeline named like the whole export's display name stays a pipeline.
        totals: dict[tuple[str, str | None], Decimal] = {}
        merged: dict[tuple[str, str | None, str], dict[str, Any]] = {}
        for r in rows:
            kind = r["resource_kind"] if r["resource_kind"] in kinds else "other"
            scope = ("whole_export" if r["whole"] else "pipeline", r["pipeline"])
            entry = merged.setdefault((*scope, kind), {"scope": scope[0], "pipeline": scope[1], "resource": kind,
                                                       "cost": Decimal(0)})
            entry["cost"] += r["cost"]
            totals[scope] = totals.get(scope, Decimal(0)) + r["cost"]

        def order(e):   # pipelines, costliest first, then the whole export; kinds in the order of `kinds`
            return (e["scope"] == "whole_export", -totals[e["scope"], e["pipeline"]], e["pipeline"] or "",
                    kinds.index(e["resource"]))

        out = sorted(merged.values(), key=order)
        for e in out:
            e["share"] = share(e["cost"], totals[e["scope"], e["pipeline"]])
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
            row["label"] = f"{row['pipeline']} #{row['artifact_id']} ({when})"
        return rows

    def waste(self, currency: str) -> list[dict[str, Any]]:
        """Per pipeline in scope: failed runs, runs that pushed no model, dead-end steps (the engine's waste)."""
        pipeline = self.params.pipeline
        return [row for row in waste(self.con, currency) if not pipeline or row["pipeline"] == pipeline]

    def pushing_pipelines(self) -> set[str]:
        return {r[0] for r in self.con.execute("SELECT pipeline FROM delivering_pipelines").fetchall()}

    def idle_accelerators(self, currency: str) -> list[dict[str, Any]]:
        """GPU and TPU cost per node pool, its idle part and idle hours (the engine's), with the idle share."""
        if not self.attribution:
            return []
        a = self.attribution
        rows = idle_accelerators(self.con, a["attribution_id"], currency, a["since"], a["until"],
                                 price_of=self._list_price)
        for row in rows:
            # The engine names the accelerator for reading (GPU, TPU); the table keys it by its resource kind.
            row["accelerator"] = row["accelerator"].lower()
            row["idle_share"] = share(row["idle_cost"], row["accelerator_cost"])
            # What an idle hour cost as attributed (credits, commitments included) next to its list-price hours.
            hours = row["idle_hours"]
            row["effective_hourly"] = (row["idle_cost"] / hours).quantize(NANO) if hours else None
        return rows

    def _list_price(self, sku_id: str, description: str | None, currency: str) -> Decimal | None:
        """An SKU's hourly list price from the price book (`aipipe prices`), by id or else by exact description."""
        if not hasattr(self, "_book"):
            from aipipe_ops.errors import AipipeError
            from aipipe_ops.pricing.price_book import PriceBook

            try:
                self._book = PriceBook.load()
            except AipipeError:   # no readable price book: hours stay unknown, the report says so
                self._book = None
        book = self._book
        if book is None or book.currency != currency:
            return None
        price = book.price(sku_id) or (book.price_described(description) if description else None)
        if price is None or price.usage_unit != "h" or not price.unit_price:
            return None
        return price.unit_price

    def bucket_totals(self, currency: str) -> dict[str, Decimal]:
        """The whole export in the period by the attribution's bucket (direct, idle_share, ..., unattributed)."""
        return {r["bucket"]: r["cost"] for r in self._rows(
            "SELECT bucket, sum(cost) AS cost FROM report_lines WHERE currency = ? GROUP BY bucket", [currency])}

    def bill(self, currency: str) -> dict[str, Decimal]:
        """The attribution's lines in the period by BILL_PARTS (part -> cost): a run's lines are the pipelines',
        a line in a received bucket without a run another workload's, the rest its bucket's, and unattributed split
        into tax (the export's tax SKUs), lines on no cluster (other services) and cluster lines of no workload.
        A bucket this report does not know keeps its own name, so nothing is dropped."""
        received = ", ".join(DUCKDB.literal(b) for b in ATTRIBUTED_BUCKETS)
        rows = self._rows(
            f"""
            WITH tax AS (SELECT DISTINCT service, sku_id FROM cost_lines WHERE cost_type = 'tax' AND currency = ?)
            SELECT CASE WHEN l.run_id IS NOT NULL THEN 'pipelines'
                        WHEN l.bucket IN ({received}) THEN 'other_workloads'
                        WHEN l.bucket <> 'unattributed' THEN l.bucket
                        WHEN EXISTS (SELECT 1 FROM tax t WHERE t.service IS NOT DISTINCT FROM l.service
                                     AND t.sku_id IS NOT DISTINCT FROM l.sku_id) THEN 'tax'
                        WHEN l.cluster IS NULL THEN 'other_services'
                        ELSE 'cluster_unattributed' END AS part,
                   sum(l.cost) AS cost
            FROM report_lines l WHERE l.currency = ? GROUP BY ALL
            """,
            [currency, currency],
        )
        return {r["part"]: r["cost"] for r in rows}

    def namespaces(self, currency: str) -> list[dict[str, Any]]:
        """Per Kubernetes namespace (the team's), what its pipeline runs and other workloads cost directly and the
        shares they received; a run's line on no namespace (a BigQuery job) counts in its run's namespace. Lines in
        no namespace at all are one row, namespace None (the pages say NO_NAMESPACE, and sort it as that text)."""
        shares = ", ".join(DUCKDB.literal(b) for b in ATTRIBUTED_BUCKETS if b != "direct")
        received = ", ".join(DUCKDB.literal(b) for b in ATTRIBUTED_BUCKETS)
        return self._rows(
            f"""
            WITH lines AS (
                SELECT coalesce(l.namespace, r.namespace) AS namespace, l.run_id, l.bucket, l.cost
                FROM report_lines l
                LEFT JOIN (SELECT run_id, any_value(namespace) AS namespace FROM runs GROUP BY run_id) r
                       ON l.namespace IS NULL AND r.run_id = l.run_id
                WHERE l.currency = ? AND l.bucket IN ({received}))
            SELECT namespace,
                   coalesce(sum(cost) FILTER (WHERE run_id IS NOT NULL AND bucket = 'direct'), 0) AS pipelines,
                   coalesce(sum(cost) FILTER (WHERE run_id IS NULL AND bucket = 'direct'), 0) AS other_workloads,
                   coalesce(sum(cost) FILTER (WHERE bucket IN ({shares})), 0) AS shares,
                   sum(cost) AS total
            FROM lines GROUP BY namespace ORDER BY total DESC, coalesce(namespace, {DUCKDB.literal(NO_NAMESPACE)})
            """,
            [currency],
        )

    def reconciliation(self, currency: str, buckets: dict[str, Decimal] | None = None) -> dict[str, Any]:
        """attributed + idle + overhead + unattributed against the export's own net total, per currency.

        The buckets are the attribution's lines (`buckets`: bucket_totals(currency) when the caller already has
        them); the export total is the engine's reconciliation of the attribution's window (billing_export_totals,
        Google's invoice sum), so a lost or doubled cent shows as a difference.
        """
        buckets = dict(self.bucket_totals(currency) if buckets is None else buckets)   # popped below
        a = self.attribution or {"since": None, "until": None}
        export_total = next((r["export_net_total"] for r in reconcile(
            self.con, UsageWindow(a["since"], a["until"]), "report_lines") if r["currency"] == currency), Decimal(0))
        rows = [{"part": bucket, "component": label, "cost": buckets.pop(bucket, Decimal(0)), "detail": detail}
                for bucket, label, detail in RECONCILIATION_PARTS]
        rows += [{"part": b, "component": f"Other bucket: {b}", "cost": v, "detail": "a bucket this report does not know"}
                 for b, v in sorted(buckets.items())]
        total = sum((r["cost"] for r in rows), Decimal(0))
        difference = total - export_total
        rows.append({"part": "sum", "component": "Sum", "cost": total,
                     "detail": "attributed + idle + overhead + unused commitment + unattributed"})
        rows.append({"part": "export_total", "component": "Billing export total", "cost": export_total,
                     "detail": "the export's net total (cost + credits) over the same usage days"})
        rows.append({"part": "difference", "component": "Difference", "cost": difference, "detail": "must be zero"})
        return {"export_total": export_total, "rows": rows, "balanced": difference == 0, "difference": difference}


def _reached_push(verdict: str | None, delivered: bool | None) -> tuple[bool | None, str]:
    """Whether a run reached a pushed model (None: not judged) and what the top-runs table's pages say; a run the
    lineage does not know has no verdict."""
    if verdict is None:
        return NO_LINEAGE
    if verdict != "running" and delivered:
        return REACHED_PUSH["delivered"]
    return REACHED_PUSH[verdict]


def open_ledger(workspace: Workspace, params: ReportParameters) -> Ledger:
    return Ledger(workspace, params).prepare()
