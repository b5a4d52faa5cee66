"""`aipipe billing load` and `aipipe costs`: load billing exports, attribute them, print the breakdowns."""

from __future__ import annotations


import click

from aipipe_ops.billing.attribution.policies import IDLE_POLICIES, SHARED_POLICIES, Policy
from aipipe_ops.billing.breakdowns import VIEWS, breakdown
from aipipe_ops.billing.normalise import UsageWindow
from aipipe_ops.billing.reconcile import COLUMNS as RECONCILIATION_COLUMNS
from aipipe_ops.billing.sources import DEFAULT_LATE_DAYS, DEFAULT_MAX_BYTES_BILLED, SourceOptions
from aipipe_ops.cli_context import pass_app
from aipipe_ops.output import echo, format_option, render, to_json

BILLING_HELP = ("Billing export to load: Parquet, JSONL or CSV files (a file, a glob in quotes, or a directory), "
                "or a BigQuery table bq://PROJECT.DATASET.TABLE. Repeat for several sources.")


def _window_options(func):
    func = click.option("--until", type=click.DateTime(["%Y-%m-%d"]), default=None,
                        help="Last US/Pacific usage day included (YYYY-MM-DD).")(func)
    func = click.option("--since", type=click.DateTime(["%Y-%m-%d"]), default=None,
                        help="First US/Pacific usage day included (YYYY-MM-DD).")(func)
    return func


def _source_options(func):
    func = click.option("--late-days", type=click.IntRange(min=0), default=DEFAULT_LATE_DAYS, show_default=True,
                        help="BigQuery: read ingestion partitions this many days past --until (late rows and "
                             "corrections land in later partitions).")(func)
    func = click.option("--max-bytes-billed", type=click.IntRange(min=1), default=DEFAULT_MAX_BYTES_BILLED,
                        show_default=True, help="BigQuery: refuse any query that would scan more bytes than this "
                                                "(checked by a dry run, and enforced by BigQuery).")(func)
    return func


def _window(since, until) -> UsageWindow:
    window = UsageWindow(since.date() if since else None, until.date() if until else None)
    if window.since and window.until and window.since > window.until:
        raise click.BadParameter(f"--since {window.since} is after --until {window.until}")
    return window


def _load_all(ws, sources, window, options, fmt, quiet=False) -> list:
    from aipipe_ops.billing.load import load_billing

    summaries = [load_billing(ws, spec, window, options) for spec in sources]
    if not quiet:
        rows = [{"source": s.source, "export_rows": s.export_rows, "cost_lines": s.cost_lines,
                 "currency": t["currency"], "cost": t["cost"], "credits": t["credits"], "net_cost": t["net_cost"]}
                for s in summaries for t in s.totals]
        echo(rows, ["source", "export_rows", "cost_lines", "currency", "cost", "credits", "net_cost"], fmt)
    return summaries


@click.group()
def billing() -> None:
    """Load Cloud Billing exports (files or BigQuery) into the workspace."""


@billing.command("load")
@click.option("--billing", "sources", multiple=True, required=True, help=BILLING_HELP)
@_window_options
@_source_options
@format_option()
@pass_app
def load(app, sources, since, until, late_days, max_bytes_billed, fmt) -> None:
    """Normalise billing export rows into cost lines (inside DuckDB or BigQuery) and store them.

    Reloading a source replaces its lines (within the usage window, if one is given).
    """
    options = SourceOptions(max_bytes_billed=max_bytes_billed, late_days=late_days)
    with app.open_workspace() as ws:
        _load_all(ws, sources, _window(since, until), options, fmt)


@click.command("costs")
@click.option("--billing", "sources", multiple=True, help=BILLING_HELP + " Loaded into the workspace first.")
@click.option("--by", "by", type=click.Choice(VIEWS), default="pipeline", show_default=True,
              help="Break costs down by pipeline, run, step, model, SKU, resource kind or US/Pacific usage day.")
@_window_options
@click.option("--idle", type=click.Choice(list(IDLE_POLICIES)), default="separate", show_default=True,
              help="Idle capacity (kube:unallocated): keep it separate, or share it among the runs of its node "
                   "pool by their cost of each resource.")
@click.option("--shared", type=click.Choice(list(SHARED_POLICIES)), default="separate", show_default=True,
              help="Overhead (kube:system-overhead, cluster fee) and shared namespaces: keep separate, or share "
                   "among the runs of their scope weighted by cost, or evenly.")
@click.option("--share-namespace", "share_namespaces", multiple=True,
              help="Namespace whose cost is shared among runs under --shared (e.g. kubeflow, kube-system). "
                   "Repeatable.")
@click.option("--recompute", is_flag=True,
              help="Attribute again even when the latest attribution has this policy and window and no billing or "
                   "lineage was loaded since (it is reused otherwise).")
@_source_options
@format_option()
@pass_app
def costs(app, sources, by, since, until, idle, shared, share_namespaces, recompute, late_days, max_bytes_billed,
          fmt) -> None:
    """Attribute billing costs to pipelines, runs, steps and models, and reconcile with the export's total.

    The rows add up to the export's net total per currency (except --by model, whose provenance costs overlap);
    the reconciliation is printed after them (on stderr for CSV). A difference is an error. The latest
    attribution is reused when it has the same policy and window and nothing was loaded since.
    """
    from aipipe_ops.billing.attribution.attribute import attribute, current_attribution

    window = _window(since, until)
    policy = Policy(idle=idle, shared=shared, share_namespaces=tuple(share_namespaces))
    with app.open_workspace() as ws:
        if sources:
            _load_all(ws, sources, window, SourceOptions(max_bytes_billed, late_days), fmt, quiet=True)
        result = (None if recompute else current_attribution(ws, policy, window)) or attribute(ws, policy, window)
        rows, columns = breakdown(ws.con, by)
    rec_columns = list(RECONCILIATION_COLUMNS)
    if fmt == "json":
        click.echo(to_json({"by": by, "idle": idle, "shared": shared, "share_namespaces": list(share_namespaces),
                            "since": window.since, "until": window.until, "rows": rows,
                            "reconciliation": result.reconciliation}))
    elif fmt == "csv":
        echo(rows, columns, "csv")
        click.echo(render(result.reconciliation, rec_columns, "csv"), err=True)
    else:
        title = f"Costs by {by} (idle: {idle}, shared: {shared})"
        if window:
            title += f", usage days {window.since or '…'} to {window.until or '…'}"
        echo(rows, columns, "table", title=title)
        click.echo("")
        echo(result.reconciliation, rec_columns, "table", title="Reconciliation with the billing export")


COMMANDS = [billing, costs]
