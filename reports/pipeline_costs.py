"""Per-pipeline cost report: what each pipeline cost, where it went, what was wasted, and proof that it adds up.

The numbers come from the billing engine's attribution of the report's window under the report's policy, read
through reports/ledger.py; this module turns them into tables, charts and sentences. The definitions are the
engine's (docs/cost-model.md; docs/reports.md has the reader's version):
- a day is a US/Pacific usage day, as the invoice counts it; a run's cost in the period is its attributed cost on
  those days, all buckets (direct + idle share + overhead share + shared), shares on their own days (§12);
- waste: failed runs, runs that pushed no model, dead-end steps (§10, aipipe_ops/billing/waste.py);
- idle GPU/TPU: accelerator lines on no workload (GKE's `kube:unallocated`) by node pool, and their hours (§11).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from aipipe_ops.workspace import Workspace

from . import charts, formatting
from .estimate_actuals import add_estimate_actuals
from .document import (
    Column,
    CurrencyBlock,
    ReportDocument,
    ReportParameters,
    Table,
    share,
)
from .ledger import BILL_PARTS, NANO, NO_NAMESPACE, UNNAMED_STEP, Ledger, open_ledger
from .registry import ReportSpec

# Machine-readable rows key by ids (resource kinds, bucket and waste category ids, scope); these labels are what
# people read, in each row's `label` and in the charts and matrices.
RESOURCE_LABELS = {
    "gpu": "GPU", "tpu": "TPU", "cpu": "CPU", "ram": "Memory", "disk": "Storage", "network": "Network",
    "cluster_fee": "Cluster fee", "other": "Other",
}
RESOURCE_COLORS = {
    "GPU": "#D55E00", "TPU": "#CC79A7", "CPU": "#0072B2", "Memory": "#56B4E9", "Storage": "#009E73",
    "Network": "#E69F00", "Cluster fee": "#8C6D31", "Other": "#999999",
}
BUCKET_LABELS = {"direct": "Direct", "idle_share": "Idle share", "overhead_share": "Overhead share", "shared": "Shared"}
BUCKET_COLORS = {"Direct": "#0072B2", "Idle share": "#E69F00", "Overhead share": "#8C6D31", "Shared": "#56B4E9",
                 "Idle (kept separate)": "#F5C26B", "Overhead (kept separate)": "#C2A878",
                 "Commitments (kept separate)": "#9C7FB0", "Unused commitment": "#CC79A7", "Unattributed": "#B8C2CC"}
# The export's money that no run carries, by the reconciliation's bucket names.
KEPT_SEPARATE = {"idle": "Idle (kept separate)", "overhead": "Overhead (kept separate)",
                 "commitment": "Commitments (kept separate)", "unused_commitment": "Unused commitment",
                 "unattributed": "Unattributed"}
WASTE_LABELS = {
    "failed_runs": "Failed runs",
    "runs_without_push": "Runs that pushed no model",
    "dead_end_steps": "Steps that fed no pushed model",
}
NOT_JUDGED = "Not judged: the pipeline pushes no models"
WASTE_COLORS = {
    "Reached a pushed model": "#0072B2", NOT_JUDGED: "#B8C2CC", "Failed runs": "#D55E00",
    "Runs that pushed no model": "#E69F00", "Steps that fed no pushed model": "#F0C987",
}
# A row of the whole export has scope `whole_export` and no pipeline; people read it under this name.
WHOLE_EXPORT = "Whole export"
TOP_RUNS = 10
# Last 7 days against the 7 before needs two whole weeks in the period; shorter, both are "not available".
WEEK_OVER_WEEK_DAYS = 14
NOT_AVAILABLE = "not available"
BILL_COLORS = {
    "Pipeline runs": "#0072B2", "Other workloads": "#56B4E9", "Idle (kept separate)": "#E69F00",
    "Overhead (kept separate)": "#8C6D31", "Unused commitment": "#CC79A7", "Cluster lines of no workload": "#B8C2CC",
    "Non-GKE services": "#999999", "Tax": "#5F6B7A",
}
TOP_STEPS = 15
# Chart widths in CSS pixels: a full-width figure, and a chart beside its table (the page is 1184 px wide).
WIDE, HALF = 1180, 580

money_col = lambda key, label: Column(key, label, "money")  # noqa: E731 - a column is one line per table below
count_col = lambda key, label: Column(key, label, "count")  # noqa: E731
share_col = lambda key, label: Column(key, label, "share")  # noqa: E731


def build(workspace: Workspace, params: ReportParameters, *, now: dt.datetime) -> ReportDocument:
    ledger = open_ledger(workspace, params)
    doc = ReportDocument(
        report=REPORT.name,
        title="Pipeline costs" + (f": {params.pipeline}" if params.pipeline else ""),
        generated_at=now,
        parameters=params,
        blocks=[],
        notes=list(ledger.notes),
    )
    doc.extras["policy"] = ledger.policy()
    doc.extras["warnings"] = []
    for currency in ledger.currencies():
        block = CurrencyBlock(currency)
        _build_block(block, ledger)
        doc.blocks.append(block)
        summary = block.tables["summary"].rows[0]
        if not summary["reconciled"]:
            doc.extras["warnings"].append(
                f"{currency}: the attribution is off the billing export by "
                f"{formatting.money(abs(summary['difference']), currency)}")
    add_estimate_actuals(workspace, params, doc)
    if not doc.blocks:
        doc.notes.append("The workspace holds no cost for this selection: load a billing export and attribute it.")
    return doc


def _build_block(block: CurrencyBlock, ledger: Ledger) -> None:
    c = block.currency
    runs = ledger.run_totals(c)
    waste = ledger.waste(c)
    models = ledger.pushed_models(c)
    distribution = ledger.run_distribution(c)
    idle = ledger.idle_accelerators(c)
    buckets = ledger.bucket_totals(c)
    recon = ledger.reconciliation(c, buckets)
    granularity = ledger.granularity()
    weeks = ledger.week_windows() is not None
    pipelines = _pipelines_table(runs, distribution, waste, models, weeks)
    block.add(pipelines)
    block.add(_summary_table(ledger, pipelines, waste, models, idle, recon, weeks))
    block.add(_bill_table(ledger.bill(c), recon))
    block.add(_namespaces_table(ledger.namespaces(c)))
    block.add(_trend_table(ledger.trend(c, granularity), granularity))
    block.add(_distribution_table(distribution))
    block.add(_top_runs_table(ledger.top_runs(c, TOP_RUNS)))
    block.add(_steps_table(ledger.step_totals(c)))
    block.add(_resources_table(ledger.resource_totals(c, list(RESOURCE_LABELS))))
    block.add(_buckets_table(pipelines.rows, buckets))
    block.add(_models_table(models))
    block.add(_waste_table(waste, pipelines.rows))
    block.add(_idle_table(idle))
    block.add(_reconciliation_table(recon))
    block.extras["namespace_totals"] = {key: sum(block.tables["namespaces"].values(key), Decimal(0))
                                        for key in ("pipelines", "other_workloads", "shares", "total")}
    block.extras["pushing_pipelines"] = ledger.pushing_pipelines()
    block.extras["charts"] = _charts(block, granularity)
    block.extras["headline"] = _headline(block)
    block.extras["granularity"] = granularity


def _headline(block: CurrencyBlock) -> list[str]:
    """The answer at a glance, in sentences, from the same table values the page shows below."""
    c = block.currency
    m = lambda v: formatting.money(v, c)  # noqa: E731
    s = block.tables["summary"].rows[0]
    pipelines = block.tables["pipelines"].rows
    bill = [r for r in block.tables["bill"].rows if r["cost"]]
    out = [f"The billing export's {m(s['export_total'])}: "
           + ", ".join(f"{r['label'][0].lower() + r['label'][1:]} {m(r['cost'])} ({formatting.percent(r['share'])})"
                       for r in bill) + "."]
    if not pipelines:
        return out + ["No pipeline run carries attributed cost in this period."]
    sentence = (f"{s['runs']:,} run{'s' if s['runs'] != 1 else ''} of {s['pipelines']} pipeline"
                f"{'s' if s['pipelines'] != 1 else ''} cost {m(s['cost'])}")
    if s["last_7_days"] is None:
        sentence += (f"; last 7 days and change: {NOT_AVAILABLE} (the period has {s['period_days']} days, "
                     f"a week-over-week change needs {WEEK_OVER_WEEK_DAYS})")
    elif s["change"] is not None:
        direction = "up" if s["change"] > 0 else "down" if s["change"] < 0 else "flat"
        amount = "" if direction == "flat" else " " + formatting.percent(abs(s["change"]))
        sentence += (f"; the last 7 days ({m(s['last_7_days'])}) are {direction}{amount} "
                     f"on the 7 before ({m(s['previous_7_days'])})")
    else:
        sentence += f"; the last 7 days cost {m(s['last_7_days'])}, the 7 before nothing"
    out.append(sentence + ".")
    if len(pipelines) > 1:
        top = pipelines[0]
        out.append(f"{top['pipeline']} cost the most: {m(top['cost'])} "
                   f"({formatting.percent(share(top['cost'], s['cost']))} of the total).")
    if s["waste"]:
        parts = {label: Decimal(0) for label in WASTE_LABELS.values()}
        for row in block.tables["waste"].rows:
            parts[row["label"]] += row["cost"]
        detail = ", ".join(f"{m(v)} on {k[0].lower() + k[1:]}" for k, v in parts.items() if v)
        out.append(f"{m(s['waste'])} ({formatting.percent(s['waste_share'])}) was waste: {detail}.")
    if s["cost_per_pushed_model"] is not None:
        out.append(f"{s['pushed_models']} model{'s were' if s['pushed_models'] != 1 else ' was'} pushed, at "
                   f"{m(s['cost_per_pushed_model'])} each on average.")
    idle = []
    for kind, unit in (("gpu", "GPU-hours"), ("tpu", "TPU chip-hours")):
        if s[f"idle_{kind}_cost"]:
            hours = s[f"idle_{kind}_hours"]
            amount = f"{hours.quantize(Decimal('0.1')):,} {unit}" if hours is not None else f"{kind.upper()} time"
            idle.append(f"{amount} ({m(s[f'idle_{kind}_cost'])})")
    if idle:
        out.append(f"Accelerator pools sat idle for {' and '.join(idle)}.")
    if s["reconciled"]:
        out.append(f"Every cent of the billing export's {m(s['export_total'])} is accounted for (see Reconciliation).")
    else:
        out.append(f"The attribution is off the billing export's {m(s['export_total'])} by "
                   f"{m(abs(s['difference']))}: see Reconciliation.")
    return out


# -- tables ----------------------------------------------------------------------------------------------------


def _pipelines_table(runs, distribution, waste, models, weeks: bool = True) -> Table:
    by_pipeline: dict[str, dict[str, Any]] = {}
    for run in runs:
        p = by_pipeline.setdefault(run["pipeline"], {
            "pipeline": run["pipeline"], "runs": 0, "failed_runs": 0, "cost": Decimal(0), "direct": Decimal(0),
            "idle_share": Decimal(0), "overhead_share": Decimal(0), "shared": Decimal(0),
            "last_7_days": Decimal(0), "previous_7_days": Decimal(0),
        })
        p["runs"] += 1
        p["failed_runs"] += int(run["failed"])
        for key in ("cost", "direct", "idle_share", "overhead_share", "shared", "last_7_days", "previous_7_days"):
            p[key] += run[key]
    waste_by = {}
    for row in waste:
        waste_by[row["pipeline"]] = waste_by.get(row["pipeline"], Decimal(0)) + row["cost"]
    model_count, model_cost = {}, {}
    for model in models:
        model_count[model["pipeline"]] = model_count.get(model["pipeline"], 0) + 1
        model_cost[model["pipeline"]] = model_cost.get(model["pipeline"], Decimal(0)) + model["cost"]
    medians = {d["pipeline"]: d["median"] for d in distribution}
    rows = []
    for p in sorted(by_pipeline.values(), key=lambda r: (-r["cost"], r["pipeline"])):
        p["cost_per_run"] = (p["cost"] / p["runs"]).quantize(NANO)
        p["median_run"] = medians.get(p["pipeline"])
        p["pushed_models"] = model_count.get(p["pipeline"], 0)
        p["cost_per_pushed_model"] = (
            (model_cost[p["pipeline"]] / model_count[p["pipeline"]]).quantize(NANO)
            if model_count.get(p["pipeline"]) else None
        )
        p["waste"] = waste_by.get(p["pipeline"], Decimal(0))
        p["waste_share"] = share(p["waste"], p["cost"])
        p["change"] = share(p["last_7_days"] - p["previous_7_days"], p["previous_7_days"])
        if not weeks:
            p["last_7_days"] = p["previous_7_days"] = p["change"] = None
        rows.append(p)
    missing = NOT_AVAILABLE if not weeks else "–"
    return Table("pipelines", "Cost by pipeline", [
        Column("pipeline", "Pipeline"), count_col("runs", "Runs"), count_col("failed_runs", "Failed"),
        money_col("cost", "Cost"), money_col("direct", "Direct"), money_col("idle_share", "Idle share"),
        money_col("overhead_share", "Overhead share"), money_col("shared", "Shared"),
        money_col("cost_per_run", "Mean per run"), money_col("median_run", "Median run"),
        count_col("pushed_models", "Pushed models"), money_col("cost_per_pushed_model", "Per pushed model"),
        money_col("waste", "Waste"), share_col("waste_share", "Waste %"),
        Column("last_7_days", "Last 7 days", "money", missing), Column("previous_7_days", "Previous 7 days", "money",
                                                                         missing),
        Column("change", "Change", "share", missing),
    ], rows, note="Cost = direct + idle share + overhead share + shared, as attributed by the billing engine. "
                  "Last 7 days: the period's last 7 usage days (the last one may be partial: exports lag); change: "
                  f"against the 7 days before; both {NOT_AVAILABLE} (empty in CSV, null in JSON) when the period is "
                  f"shorter than {WEEK_OVER_WEEK_DAYS} days.")


def _summary_table(ledger: Ledger, pipelines: Table, waste, models, idle, recon, weeks: bool = True) -> Table:
    total = sum(pipelines.values("cost"), Decimal(0))
    waste_total = sum((r["cost"] for r in waste), Decimal(0))
    model_costs = [m["cost"] for m in models]

    def idle_of(kind: str) -> tuple[Decimal, Decimal | None]:
        mine = [r for r in idle if r["accelerator"] == kind]
        hours = [r["idle_hours"] for r in mine]
        return (sum((r["idle_cost"] for r in mine), Decimal(0)),
                None if None in hours else sum(hours, Decimal(0)))

    start, end = ledger.period
    row = {
        "period_start": start, "period_end": end,
        "period_days": (end - start).days + 1 if start and end else None,
        "pipelines": len(pipelines.rows),
        "runs": sum(pipelines.values("runs")), "failed_runs": sum(pipelines.values("failed_runs")),
        "cost": total,
        "direct": sum(pipelines.values("direct"), Decimal(0)),
        "idle_share": sum(pipelines.values("idle_share"), Decimal(0)),
        "overhead_share": sum(pipelines.values("overhead_share"), Decimal(0)),
        "shared": sum(pipelines.values("shared"), Decimal(0)),
        "export_total": recon["export_total"],
        "waste": waste_total, "waste_share": share(waste_total, total),
        "pushed_models": len(models),
        "cost_per_pushed_model": (sum(model_costs, Decimal(0)) / len(model_costs)).quantize(NANO)
        if model_costs else None,
        "idle_gpu_cost": idle_of("gpu")[0], "idle_gpu_hours": idle_of("gpu")[1],
        "idle_tpu_cost": idle_of("tpu")[0], "idle_tpu_hours": idle_of("tpu")[1],
        "last_7_days": sum(pipelines.values("last_7_days"), Decimal(0)) if weeks else None,
        "previous_7_days": sum(pipelines.values("previous_7_days"), Decimal(0)) if weeks else None,
        "reconciled": bool(recon["balanced"]),
        "difference": recon["difference"],
    }
    row["change"] = share(row["last_7_days"] - row["previous_7_days"], row["previous_7_days"]) if weeks else None
    missing = NOT_AVAILABLE if not weeks else "–"
    for kind in ("gpu", "tpu"):
        cost, hours = row[f"idle_{kind}_cost"], row[f"idle_{kind}_hours"]
        row[f"idle_{kind}_hourly"] = (cost / hours).quantize(NANO) if cost and hours else None
    return Table("summary", "Summary", [
        Column("period_start", "From", "date"), Column("period_end", "To", "date"),
        count_col("period_days", "Days"),
        count_col("pipelines", "Pipelines"), count_col("runs", "Runs"), count_col("failed_runs", "Failed runs"),
        money_col("cost", "Pipelines' cost"), money_col("direct", "Direct"), money_col("idle_share", "Idle share"),
        money_col("overhead_share", "Overhead share"), money_col("shared", "Shared"),
        money_col("export_total", "Billing export total"), money_col("waste", "Waste"),
        share_col("waste_share", "Waste %"), count_col("pushed_models", "Pushed models"),
        money_col("cost_per_pushed_model", "Cost per pushed model"), money_col("idle_gpu_cost", "Idle GPU cost"),
        Column("idle_gpu_hours", "Idle GPU-hours", "hours"), money_col("idle_tpu_cost", "Idle TPU cost"),
        Column("idle_tpu_hours", "Idle TPU chip-hours", "hours"),
        money_col("idle_gpu_hourly", "Idle GPU effective price per hour"),
        money_col("idle_tpu_hourly", "Idle TPU effective price per chip-hour"),
        Column("last_7_days", "Last 7 days", "money", missing),
        Column("previous_7_days", "Previous 7 days", "money", missing), Column("change", "Change", "share", missing),
        Column("reconciled", "Reconciled", kind="bool"), money_col("difference", "Difference"),
    ], [row])


def _bill_table(parts: dict[str, Decimal], recon) -> Table:
    """The export's total, part by part (BILL_PARTS, zeros included: the same rows in every report), then any
    part the report does not know; shares of the export's total."""
    parts = dict(parts)
    total = recon["export_total"]
    rows = [{"part": part, "label": label, "cost": parts.pop(part, Decimal(0)), "detail": detail}
            for part, label, detail in BILL_PARTS]
    rows += [{"part": part, "label": f"Other: {part}", "cost": cost, "detail": "a bucket this report does not know"}
             for part, cost in sorted(parts.items())]
    for row in rows:
        row["share"] = share(row["cost"], total)
    return Table("bill", "The whole bill", [
        Column("part", "Part"), Column("label", "Label"), money_col("cost", "Amount"), share_col("share", "Share"),
        Column("detail", "What it is"),
    ], rows, note="Every line of the billing export in the period falls in exactly one part; the parts add up to "
                  "the export's net total (cost + credits) when the reconciliation balances.")


def _namespaces_table(rows) -> Table:
    return Table("namespaces", "Cost by team (Kubernetes namespace)", [
        Column("namespace", "Namespace", missing=NO_NAMESPACE), money_col("pipelines", "Pipelines"),
        money_col("other_workloads", "Other workloads"), money_col("shares", "Shares"),
        money_col("total", "Total"),
    ], rows, note="What each namespace's pipeline runs and other workloads cost directly, and the shares "
                  "of idle, overhead and shared namespaces they received under the report's policy. Money kept in a "
                  "bucket of its own (idle, overhead, unused commitment, unattributed) is in no namespace.")


def _trend_table(rows, granularity: str) -> Table:
    label = "Day" if granularity == "day" else "Week (Monday)"
    return Table("trend", f"Cost by usage {granularity}", [
        Column("period", label, "date"), Column("pipeline", "Pipeline"), count_col("runs", "Runs"),
        money_col("cost", "Cost"),
    ], rows)


def _distribution_table(rows) -> Table:
    return Table("run_distribution", "Cost per run", [
        Column("pipeline", "Pipeline"), count_col("runs", "Runs"), money_col("min", "Min"),
        money_col("p25", "25th pct"), money_col("median", "Median"), money_col("p75", "75th pct"),
        money_col("p90", "90th pct"), money_col("max", "Max"), money_col("mean", "Mean"),
    ], rows, note="Percentiles are costs of actual runs (nearest rank).")


def _top_runs_table(rows) -> Table:
    return Table("top_runs", f"The {TOP_RUNS} most expensive runs", [
        Column("run_id", "Run"), Column("pipeline", "Pipeline"), Column("state", "State"),
        Column("started_at", "Started", "datetime"), Column("duration_hours", "Duration", "hours"),
        money_col("cost", "Cost"), money_col("gpu_cost", "GPU"),
        Column("reached_push", "Reached a pushed model", "bool", shown="reached_push_text"),
    ], rows)


def _steps_table(rows) -> Table:
    return Table("steps", "Cost by step", [
        Column("pipeline", "Pipeline"), Column("step", "Step", missing=UNNAMED_STEP),
        count_col("executions", "Executions"),
        count_col("cached", "Cached"), money_col("cost", "Cost"), money_col("cost_per_execution", "Per execution"),
        share_col("share", "Share"),
    ], rows)


def _resources_table(rows) -> Table:
    rows = [{**r, "label": RESOURCE_LABELS[r["resource"]]} for r in rows]
    return Table("resources", "Cost by resource", [
        Column("scope", "Scope"), Column("pipeline", "Pipeline", missing=WHOLE_EXPORT),
        Column("resource", "Resource kind"), Column("label", "Resource"), money_col("cost", "Cost"),
        share_col("share", "Share"),
    ], rows, note="“Whole export” is every line of the billing export in the period, idle and unattributed included.")


def _buckets_table(pipeline_rows, export_buckets: dict[str, Decimal]) -> Table:
    """Per pipeline (the rows of the pipelines table): its buckets; then the whole export, where idle and overhead
    kept separate show up too. Largest first by the buckets' sum, then by name."""
    def buckets_sum(p) -> Decimal:
        return sum((p[b] for b in BUCKET_LABELS), Decimal(0))

    rows = []
    for p in sorted(pipeline_rows, key=lambda p: (-buckets_sum(p), p["pipeline"])):
        for bucket, label in BUCKET_LABELS.items():
            rows.append({"scope": "pipeline", "pipeline": p["pipeline"], "bucket": bucket, "label": label,
                         "cost": p[bucket], "share": share(p[bucket], buckets_sum(p))})
    labels = {**BUCKET_LABELS, **KEPT_SEPARATE}
    whole = sum(export_buckets.values(), Decimal(0))
    for bucket, label in labels.items():
        if bucket in export_buckets or bucket in BUCKET_LABELS:
            amount = export_buckets.get(bucket, Decimal(0))
            rows.append({"scope": "whole_export", "pipeline": None, "bucket": bucket, "label": label, "cost": amount,
                         "share": share(amount, whole)})
    return Table("buckets", "Direct, idle and overhead", [
        Column("scope", "Scope"), Column("pipeline", "Pipeline", missing=WHOLE_EXPORT),
        Column("bucket", "Bucket id"), Column("label", "Bucket"), money_col("cost", "Cost"),
        share_col("share", "Share"),
    ], rows, note="“Whole export”: every cent of the export in the period, including what no run carries.")


def _models_table(rows) -> Table:
    return Table("models", "Cost per pushed model", [
        Column("artifact_id", "Artifact id"), Column("label", "Pushed model"), Column("pipeline", "Pipeline"),
        Column("run_id", "Pushed by run"),
        Column("pushed_at", "Pushed", "datetime"), count_col("contributing_runs", "Runs in its lineage"),
        money_col("cost", "Cost"),
    ], rows, note="A model's cost is what the billing engine attributed to it along its lineage (model_costs).")


def _waste_table(waste, pipeline_rows) -> Table:
    pipeline_cost = {p["pipeline"]: p["cost"] for p in pipeline_rows}
    rows = [
        {**row, "label": WASTE_LABELS[row["category"]], "share": share(row["cost"], pipeline_cost.get(row["pipeline"]))}
        for row in waste
    ]
    return Table("waste", "Waste", [
        Column("pipeline", "Pipeline"), Column("category", "Category id"), Column("label", "Category"),
        count_col("items", "Runs or steps"),
        money_col("cost", "Cost"), share_col("share", "Share of pipeline"),
    ], rows, note="The three categories do not overlap: a failed run is counted once, under failed runs. A pipeline "
                  "none of whose runs ever pushed a model (batch scoring, pretraining) is judged on failed runs only.")


def _idle_table(rows) -> Table:
    rows = [{**r, "label": RESOURCE_LABELS[r["accelerator"]]} for r in rows]
    return Table("idle_accelerators", "GPUs and TPUs paid while idle", [
        Column("node_pool", "Node pool"), Column("accelerator", "Accelerator kind"), Column("label", "Accelerator"),
        money_col("accelerator_cost", "Accelerator cost"), money_col("idle_cost", "Idle cost"),
        share_col("idle_share", "Idle share"), Column("idle_hours", "Idle hours", "hours"),
        money_col("effective_hourly", "Effective price per hour"),
    ], rows, note="Idle hours: GPU-hours or TPU chip-hours, the idle lines' cost before credits over the SKU's hourly "
                  "list price (price book); – when the price book lacks the SKU. Effective price per hour: the idle "
                  "cost as attributed (credits and commitments included) over the idle hours.")


def _reconciliation_table(recon) -> Table:
    return Table("reconciliation", "Reconciliation with the billing export", [
        Column("part", "Part"), Column("component", "Component"), money_col("cost", "Amount"),
        Column("detail", "How it is counted"),
    ], recon["rows"], note="Attributed + idle + overhead + unused commitment + unattributed must equal the export's net total "
                            "(cost + credits) for the same period, in this currency.")


# -- charts ----------------------------------------------------------------------------------------------------


def _charts(block: CurrencyBlock, granularity: str) -> dict[str, Any]:
    c = block.currency
    fmt = lambda v: formatting.money(v, c)  # noqa: E731
    axis = lambda v: formatting.money_short(v, c)  # noqa: E731
    t = block.tables
    out: dict[str, Any] = {}

    bill = [(r["label"], r["cost"]) for r in t["bill"].rows if r["cost"]]
    if bill and all(cost > 0 for _, cost in bill):
        colors_of = {label: BILL_COLORS.get(label, "#999999") for label, _ in bill}
        out["bill"] = charts.share_bars(
            [(f"Export ({c})", bill)], colors=colors_of, fmt=fmt, width=HALF,
            title=f"The whole bill, part by part ({c})",
            desc="The billing export's net total as 100%; the table beside it lists every amount.")
        out["bill_legend"] = charts.legend(colors_of)

    pipelines = [r["pipeline"] for r in t["pipelines"].rows]
    colors = charts.colors_for(pipelines)
    periods = _all_periods({r["period"] for r in t["trend"].rows}, granularity)
    if periods:
        cells = {(r["period"], r["pipeline"]): r["cost"] for r in t["trend"].rows}
        series = [charts.Series(p, [cells.get((d, p), Decimal(0)) for d in periods], colors[p]) for p in pipelines]
        labels = [d.strftime("%b %d") for d in periods]
        out["trend"] = charts.stacked_columns(
            labels, series, fmt=fmt, axis_fmt=axis, width=WIDE,
            title=f"Cost by usage {granularity}, stacked by pipeline ({c})",
            desc=f"{len(periods)} {granularity}s from {periods[0]} to {periods[-1]}; the table below lists every value.",
        )
        out["trend_legend"] = charts.legend(colors)
        out["trend_pivot"] = _pivot(periods, pipelines, cells)

    if t["pipelines"].rows:
        out["pipelines"] = charts.horizontal_bars(
            [(r["pipeline"], r["cost"]) for r in t["pipelines"].rows], fmt=fmt,
            colors=[colors[p] for p in pipelines], width=WIDE,
            title=f"Cost by pipeline ({c})", desc="Total attributed cost per pipeline, largest first.",
        )
    if t["run_distribution"].rows:
        out["distribution"] = charts.range_plot(
            [(r["pipeline"], r) for r in t["run_distribution"].rows], fmt=fmt, axis_fmt=axis, width=HALF,
            title=f"Cost per run by pipeline ({c})",
            desc="Box from the 25th to the 75th percentile, bar at the median, whiskers at min and max.",
        )
    if t["steps"].rows:
        top = sorted(t["steps"].rows, key=lambda r: -r["cost"])[:TOP_STEPS]
        out["steps"] = charts.horizontal_bars(
            [(f"{r['pipeline']} / {UNNAMED_STEP if r['step'] is None else r['step']}", r["cost"]) for r in top],
            fmt=fmt,
            colors=[colors.get(r["pipeline"], charts.PALETTE[0]) for r in top], label_chars=40, width=HALF,
            title=f"The {len(top)} most expensive steps ({c})", desc="Cost per pipeline step, all runs in the period.",
        )
    out["resources"] = _share_chart(_as_read(t["resources"], "pipeline"), "pipeline", "label", RESOURCE_COLORS, fmt,
                                    f"Share of GPU, TPU, CPU, memory, storage and network ({c})")
    out["resources_legend"] = charts.legend(_used(RESOURCE_COLORS, t["resources"].rows, "label"))
    out["buckets"] = _share_chart(_as_read(t["buckets"], "pipeline"), "pipeline", "label", BUCKET_COLORS, fmt,
                                  f"Direct cost and the shares of idle and overhead ({c})")
    out["buckets_legend"] = charts.legend(_used(BUCKET_COLORS, t["buckets"].rows, "label"))
    useful_rows = _waste_with_useful(t["waste"].rows, t["pipelines"].rows, block.extras["pushing_pipelines"])
    out["waste"] = _share_chart(useful_rows, "pipeline", "label", WASTE_COLORS, fmt,
                                f"Cost that reached a pushed model, and waste ({c})")
    out["waste_legend"] = charts.legend(_used(WASTE_COLORS, useful_rows, "label"))
    if t["idle_accelerators"].rows:
        rows = [(f"{r['node_pool']} ({r['label']})",
                 [("On workloads", r["accelerator_cost"] - r["idle_cost"]), ("Idle", r["idle_cost"])])
                for r in t["idle_accelerators"].rows]
        busy_colors = {"On workloads": "#0072B2", "Idle": "#D55E00"}
        out["idle"] = charts.share_bars(
            rows, colors=busy_colors, fmt=fmt, width=HALF, title=f"Accelerator cost: on workloads vs idle ({c})",
            desc="GPU and TPU cost per node pool, split into time requested by pods and idle capacity.")
        out["idle_legend"] = charts.legend(busy_colors)
    if t["models"].rows:
        top = sorted(t["models"].rows, key=lambda r: -r["cost"])[:TOP_STEPS]
        out["models"] = charts.horizontal_bars(
            [(r["label"], r["cost"]) for r in top], fmt=fmt, label_chars=40, width=HALF,
            colors=[colors.get(r["pipeline"], charts.PALETTE[0]) for r in top],
            title=f"Cost per pushed model ({c})", desc="Most expensive pushed models first.",
        )
    return out


def _all_periods(present: set[dt.date], granularity: str) -> list[dt.date]:
    """Every day (or week) from the first to the last: a quiet day shows as a gap, not as a missing column."""
    if not present:
        return []
    step = dt.timedelta(days=1 if granularity == "day" else 7)
    periods, day = [], min(present)
    while day <= max(present):
        periods.append(day)
        day += step
    return periods


def _as_read(table: Table, key: str) -> list[dict[str, Any]]:
    """The table's rows with an empty `key` shown as its column's missing text (no pipeline: the whole export)."""
    missing = table.column(key).missing
    return [{**r, key: missing if r[key] is None else r[key]} for r in table.rows]


def _share_chart(rows, row_key, segment_key, colors, fmt, title):
    if not rows:
        return None
    ordered: dict[str, list[tuple[str, Decimal]]] = {}
    for r in rows:
        ordered.setdefault(r[row_key], []).append((r[segment_key], r["cost"]))
    order = list(colors)
    items = [(k, sorted(v, key=lambda s: order.index(s[0]) if s[0] in order else 99)) for k, v in ordered.items()]
    return charts.share_bars(items, colors=colors, fmt=fmt, title=title, width=WIDE,
                             desc="Each bar is 100% of its row; the table beside it lists every amount.")


def _used(colors: dict[str, str], rows, key) -> dict[str, str]:
    present = {r[key] for r in rows if r.get("cost")}
    return {name: color for name, color in colors.items() if name in present}


def _waste_with_useful(waste_rows, pipeline_rows, pushing: set[str]):
    """Chart rows: per pipeline, the cost that reached a pushed model (or was not judged) beside the waste."""
    rows = []
    for p in pipeline_rows:
        mine = [w for w in waste_rows if w["pipeline"] == p["pipeline"]]
        rest = p["cost"] - sum((w["cost"] for w in mine), Decimal(0))
        label = "Reached a pushed model" if p["pipeline"] in pushing else NOT_JUDGED
        rows.append({"pipeline": p["pipeline"], "label": label, "cost": rest})
        rows.extend({"pipeline": w["pipeline"], "label": w["label"], "cost": w["cost"]} for w in mine)
    return rows


def _pivot(periods, pipelines, cells) -> dict[str, Any]:
    """The trend table as a reader scans it: one row per period, one column per pipeline, and the total."""
    rows = []
    for d in periods:
        values = [cells.get((d, p)) for p in pipelines]
        rows.append({"period": d, "values": values, "total": sum((v for v in values if v), Decimal(0))})
    totals = [sum((cells.get((d, p)) or Decimal(0) for d in periods), Decimal(0)) for p in pipelines]
    return {"pipelines": pipelines, "rows": rows, "totals": totals, "total": sum(totals, Decimal(0))}


REPORT = ReportSpec(
    name="pipeline_costs",
    title="Pipeline costs",
    summary="What each pipeline, run, step and pushed model cost; idle, overhead and waste; reconciliation.",
    order=10,
    build=build,
)

