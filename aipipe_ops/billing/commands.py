"""`aipipe billing load` and `aipipe costs`: load billing exports, attribute them, print the breakdowns."""

from __future__ import annotations


import click

from aipipe_ops.billing.policy_options import policy_of, policy_options
from aipipe_ops.billing.breakdowns import breakdown, check_view
from aipipe_ops.billing.normalise import UsageWindow
from aipipe_ops.billing.reconcile import COLUMNS as RECONCILIATION_COLUMNS
from aipipe_ops.billing.sources import DEFAULT_LATE_DAYS, DEFAULT_MAX_BYTES_BILLED, SourceOptions
from aipipe_ops.cli_context import pass_app
from aipipe_ops.errors import ConfigError
from aipipe_ops.output import echo, format_option, plural, render, to_json

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


def _check_sources(sources) -> None:
    for spec in sources:
        if not spec.strip():
            # An empty value would read as the current folder: say so rather than load whatever lies there.
            raise ConfigError("--billing '': expected a billing export file, a glob in quotes, a directory or "
                              "bq://PROJECT.DATASET.TABLE")


def _holdings_note(con, window) -> str | None:
    """What the workspace holds, for an empty result: the loaded usage days, or that nothing is loaded."""
    first, last, lines = con.execute("SELECT min(usage_day), max(usage_day), count(*) FROM cost_lines").fetchone()
    if not lines:
        return "the workspace holds no billing data: load an export with `aipipe billing load --billing ...`"
    if window.invoice_month:
        months = ", ".join(f"{m[:4]}-{m[4:]}" for (m,) in con.execute(
            "SELECT DISTINCT invoice_month FROM cost_lines WHERE invoice_month IS NOT NULL ORDER BY 1").fetchall())
        return f"no cost in invoice month {_month_text(window.invoice_month)}; the workspace holds {months or 'none'}"
    if window:
        return (f"no cost in usage days {window.since or '…'} to {window.until or '…'}; the workspace holds usage "
                f"days {first} to {last}")
    return None


def _window(since, until, invoice_month: str | None = None) -> UsageWindow:
    if invoice_month and (since or until):
        raise ConfigError("--invoice-month with --since/--until: the invoice view holds every usage day billed in "
                          "the month (late rows and tax included); give one or the other")
    window = UsageWindow(since.date() if since else None, until.date() if until else None,
                         _invoice_month(invoice_month) if invoice_month else None)
    if window.since and window.until and window.since > window.until:
        raise click.BadParameter(f"--since {window.since} is after --until {window.until}")
    return window


def _invoice_month(text: str) -> str:
    """YYYY-MM (or the export's YYYYMM) -> the export's YYYYMM."""
    import re

    match = re.fullmatch(r"(\d{4})-?(\d{2})", text.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ConfigError(f"--invoice-month {text!r}: expected a month as YYYY-MM, e.g. 2026-10")
    return match.group(1) + match.group(2)


def _view_option(ctx, param, value: str) -> str:
    """--by, checked as a usage error before anything is loaded or attributed: a typo costs nothing."""
    try:
        return check_view(value)
    except ConfigError as exc:
        raise click.BadParameter(f"{value!r}: " + str(exc).split(": ", 1)[1]) from exc


def _month_text(month: str | None) -> str | None:
    return f"{month[:4]}-{month[4:]}" if month else None


LOAD_COLUMNS = ["source", "export_rows", "rows_new", "rows_held", "rows_replaced", "files_skipped", "cost_lines",
                "currency", "cost", "credits", "net_cost"]


def _load_all(ws, sources, window, options, fmt, quiet=False, replace=False) -> list:
    from aipipe_ops.billing.load import load_billing

    summaries = [load_billing(ws, spec, window, options, replace=replace) for spec in sources]
    if not quiet:
        rows = []
        for s in summaries:
            counts = {"source": s.source, "export_rows": s.export_rows, "rows_new": s.rows_new,
                      "rows_held": s.rows_held, "rows_replaced": s.rows_replaced, "files_skipped": s.files_skipped,
                      "cost_lines": s.cost_lines}
            rows += [{**counts, "currency": t["currency"], "cost": t["cost"], "credits": t["credits"],
                      "net_cost": t["net_cost"]} for t in s.totals] or [counts]
        echo(rows, LOAD_COLUMNS, fmt)
        for s in summaries:
            for note in s.notes:
                click.echo(f"note: {note}", err=True)
    return summaries


@click.group()
def billing() -> None:
    """Load Cloud Billing exports (files or BigQuery) into the workspace."""


@billing.command("load")
@click.option("--billing", "sources", multiple=True, required=True, help=BILLING_HELP)
@_window_options
@_source_options
@click.option("--replace", is_flag=True,
              help="Replace the export batches the workspace holds with different content (refused otherwise).")
@format_option()
@pass_app
def load(app, sources, since, until, late_days, max_bytes_billed, replace, fmt) -> None:
    """Normalise billing export rows into cost lines (inside DuckDB or BigQuery) and store them.

    Rows the workspace already holds, through any path, format or source, are not counted again; late rows and
    corrections (later export batches) are added. A load holding different rows for batches already loaded is
    refused unless --replace. Without --since/--until a BigQuery table is read incrementally, past what the
    workspace holds.
    """
    _check_sources(sources)
    options = SourceOptions(max_bytes_billed=max_bytes_billed, late_days=late_days)
    with app.open_workspace(create=True) as ws:
        _load_all(ws, sources, _window(since, until), options, fmt, replace=replace)


@click.command("costs")
@click.option("--billing", "sources", multiple=True, help=BILLING_HELP + " Loaded into the workspace first.")
@click.option("--by", "by", default="pipeline", show_default=True, metavar="VIEW", callback=_view_option,
              help="Break costs down by pipeline, run, step, model, sku, kind (resource) or day (US/Pacific), or "
                   "show them back by namespace, cluster, project, workload (runs and every other workload) or "
                   "label:KEY (any export label, e.g. label:k8s-label/team).")
@_window_options
@click.option("--invoice-month", default=None, metavar="YYYY-MM",
              help="Attribute the rows of one invoice month (every usage day billed in it: late rows from earlier "
                   "months and tax included) and reconcile with the month's total: the figure on the invoice.")
@policy_options
@click.option("--method", type=click.Choice(("label", "requests", "duration")), default="label", show_default=True,
              help="How --by step finds a step's share of its run's direct cost: label (export rows with a step "
                   "cost label are that step's, the rest split by requests, else duration), requests or duration "
                   "(labels ignored: to compare). Each step row says which method found its cost "
                   "(docs/cost-model.md §6).")
@click.option("--recompute", is_flag=True,
              help="Attribute again even when the latest attribution has this policy and window and no billing or "
                   "lineage was loaded since (it is reused otherwise).")
@_source_options
@format_option()
@pass_app
def costs(app, sources, by, since, until, invoice_month, idle, shared, share_namespaces, commitments, method,
          recompute, late_days, max_bytes_billed, fmt) -> None:
    """Attribute billing costs to pipelines, runs, steps and models, and reconcile with the export's total.

    The rows add up to the export's net total per currency (except --by model, whose provenance costs overlap);
    the reconciliation is printed after them (on stderr for CSV). A difference is an error. The latest
    attribution is reused when it has the same policy and window and nothing was loaded since.
    """
    from aipipe_ops.billing.attribution.attribute import attribute

    _check_sources(sources)
    policy = policy_of(idle, shared, share_namespaces, commitments)
    window = _window(since, until, invoice_month)
    # Only loading (--billing) may create the workspace; attributing a missing one is an error, not an empty file.
    with app.open_workspace(create=bool(sources)) as ws:
        if sources:
            # The invoice view reads every usage day: load the sources whole.
            load_window = UsageWindow(window.since, window.until)
            _load_all(ws, sources, load_window, SourceOptions(max_bytes_billed, late_days), fmt, quiet=True)
        # Reuse the latest attribution when it answers this question; when only billing loads came since,
        # attribute again the days they changed (--recompute: every day).
        result = attribute(ws, policy, window, incremental=not recompute)
        if method != "label" and by == "step":
            from aipipe_ops.billing.attribution.step_methods import steps_by_method

            rows, columns = breakdown(ws.con, by, **steps_by_method(ws.con, window, method, policy))
        else:
            rows, columns = breakdown(ws.con, by)
        note = None if rows else _holdings_note(ws.con, window)
        old = ws.con.execute("SELECT count(DISTINCT source) FROM export_cells WHERE fingerprint IS NULL").fetchone()[0]
        if old and not note:
            note = (f"{plural(old, 'billing source')} {'was' if old == 1 else 'were'} loaded by an older aipipe: "
                    f"their lines lack columns or labels this version keeps (region, usage and commitment "
                    f"credits, the labels of `--by label:KEY`). Load them again (`aipipe billing "
                    f"sources` lists them) to refresh their lines")
    rec_columns = list(RECONCILIATION_COLUMNS)
    if fmt == "json":
        click.echo(to_json({"by": by, "idle": idle, "shared": shared, "share_namespaces": list(share_namespaces),
                            "commitments": commitments,
                            "since": window.since, "until": window.until,
                            "invoice_month": _month_text(window.invoice_month), "rows": rows,
                            "reconciliation": result.reconciliation}))
    elif fmt == "csv":
        echo(rows, columns, "csv")
        click.echo(render(result.reconciliation, rec_columns, "csv"), err=True)
    else:
        # A table shows the columns some row fills (JSON and CSV keep every key in every row).
        columns = [c for c in columns if any(r.get(c) not in (None, "") for r in rows)] or columns
        title = f"Costs by {by} (idle: {idle}, shared: {shared}, commitments: {commitments})"
        if window:
            title += f", {window.describe()}"
        echo(rows, columns, "table", title=title)
        click.echo("")
        echo(result.reconciliation, rec_columns, "table",
             title="Reconciliation with the invoice month's total" if window.invoice_month
             else "Reconciliation with the billing export")
    if note:
        click.echo(f"aipipe: note: {note}", err=True)


# -- what the workspace holds, and undoing a load (aipipe_ops/billing/holdings.py) ------------------------------
@billing.command("sources")
@format_option()
@pass_app
def sources_command(app, fmt) -> None:
    """List the billing sources the workspace holds: billing account, currency, usage days, export_time range,
    export rows and net cost."""
    from aipipe_ops.billing.holdings import SOURCE_COLUMNS, held_sources

    with app.open_workspace() as ws:
        echo(held_sources(ws.con), list(SOURCE_COLUMNS), fmt, title="Billing sources in the workspace")


@billing.command("forget")
@click.argument("source")
@format_option()
@pass_app
def forget_command(app, source, fmt) -> None:
    """Remove one source's cost lines, export batches and loaded files (SOURCE as `aipipe billing sources` names
    it). The next `aipipe costs` attributes again."""
    from aipipe_ops.billing.holdings import FORGET_COLUMNS, forget

    with app.open_workspace() as ws:
        echo([forget(ws, source)], list(FORGET_COLUMNS), fmt)


COMMANDS = [billing, costs]
