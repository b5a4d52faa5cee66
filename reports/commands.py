"""`aipipe report`: write every registered report (HTML, Markdown, CSV, JSON) for a period and a pipeline."""

from __future__ import annotations

from pathlib import Path

import click

from aipipe_ops.billing.policy_options import policy_of, policy_options
from aipipe_ops.cli_context import pass_app
from aipipe_ops.errors import ConfigError
from aipipe_ops.output import plural

from .document import ReportParameters
from .registry import all_reports, get_report
from .writer import FORMATS, write_reports

DEFAULT_OUT = Path(".aipipe") / "reports"


def _formats(value: str) -> list[str]:
    wanted = [part.strip().lower() for part in value.split(",") if part.strip()]
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown or not wanted:
        raise ConfigError(f"--format {value!r}: expected a comma-separated list of {', '.join(FORMATS)}")
    return list(dict.fromkeys(wanted))


KNOWN_PIPELINES_SHOWN = 20


def _check_pipeline(con, pipeline: str) -> None:
    """--pipeline must name a pipeline the workspace knows (from the lineage or the attributed costs): a typo would
    otherwise write empty reports that look like a pipeline that cost nothing."""
    known = [row[0] for row in con.execute(
        "SELECT pipeline FROM runs WHERE pipeline IS NOT NULL UNION "
        "SELECT pipeline FROM run_costs WHERE pipeline IS NOT NULL ORDER BY 1").fetchall()]
    if pipeline in known:
        return
    if not known:
        raise ConfigError(f"--pipeline {pipeline!r}: unknown pipeline; the workspace holds no pipeline (load lineage "
                          "with `aipipe lineage snapshot` or costs with `aipipe billing load`)")
    shown = ", ".join(known[:KNOWN_PIPELINES_SHOWN])
    more = f" (and {len(known) - KNOWN_PIPELINES_SHOWN} more)" if len(known) > KNOWN_PIPELINES_SHOWN else ""
    raise ConfigError(f"--pipeline {pipeline!r}: unknown pipeline; the workspace holds "
                      f"{plural(len(known), 'pipeline')}: {shown}{more}")


@click.command("report")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=str(DEFAULT_OUT), show_default=True,
              help="Directory for the report files (created if missing).")
@click.option("--format", "formats", default=",".join(FORMATS), show_default=True,
              help="Comma-separated formats: html (charts, self-contained), md (pull requests, wikis), "
                   "csv (one tidy file per table, OUT/<report>/<table>.csv: spreadsheets, BI tools), json (machines).")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="First usage day included (YYYY-MM-DD, US/Pacific as the invoice counts days).")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Last usage day included (YYYY-MM-DD, US/Pacific).")
@click.option("--pipeline", default=None, help="Only this pipeline (the reconciliation still covers the whole export).")
@policy_options
@click.option("--report", "names", multiple=True, metavar="NAME",
              help="Only this report (repeatable): pipeline-costs, lineage-audit. Default: all.")
@pass_app
def report(app, out_dir: str, formats: str, since, until, pipeline: str | None, idle: str, shared: str,
           share_namespaces: tuple[str, ...], commitments: str, names: tuple[str, ...]) -> None:
    """Write the cost and lineage audit reports: HTML, Markdown, CSV and JSON with the same numbers.

    pipeline-costs: what each pipeline, run, step and pushed model cost; GPU/TPU/CPU/storage/network shares;
    idle and overhead; waste; reconciliation with the billing export. lineage-audit: audit findings by severity,
    each with its lineage path and the cost attached to it.

    The costs are the billing engine's attribution of the period under --idle/--shared/--share-namespace (as
    `aipipe costs` takes them); the latest attribution is reused when it has the same policy and period and
    nothing was loaded since, else the period is attributed again. The reports name the policy they used.

    Files are written atomically as OUT/<report>.<format>, CSV as one tidy file per table, OUT/<report>/<table>.csv;
    an existing file that is not an aipipe report is never overwritten. Prints the path of every file written.
    """
    from .rendering import report_files  # jinja2 loads only when a report is written, not at every CLI start

    fmts = _formats(formats)
    params = ReportParameters(since=since.date() if since else None, until=until.date() if until else None,
                              pipeline=pipeline,
                              policy=policy_of(idle, shared, share_namespaces, commitments))
    if params.since and params.until and params.since > params.until:
        raise ConfigError(f"--since {params.since} is after --until {params.until}")
    specs = [get_report(n) for n in names] if names else list(all_reports())
    out = Path(out_dir)
    files: dict[Path, str] = {}
    warnings: list[str] = []
    # Not read-only: when the latest attribution does not answer the report's policy and period, the ledger
    # attributes the period, which replaces the engine's result tables (as `aipipe costs` would).
    with app.open_workspace() as ws:
        for spec in specs:
            doc = spec.build_document(ws, params)
            warnings += [f"{spec.file_stem}: {w}" for w in doc.extras.get("warnings", [])]
            for fmt in fmts:
                files.update({out / name: text for name, text in report_files(doc, spec, fmt).items()})
        if pipeline is not None:
            # Checked once the documents are built: a pipeline known only from billing labels is in run_costs
            # after the attribution the ledger has just made.
            _check_pipeline(ws.con, pipeline)
    for path in write_reports(files):
        click.echo(str(path))
    for warning in warnings:
        click.echo(f"aipipe: warning: {warning}", err=True)


COMMANDS = [report]
