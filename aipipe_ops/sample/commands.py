"""`aipipe sample`: write a sample fleet (MLMD store + GKE detailed billing export + ground truth)."""

from __future__ import annotations

import click

from aipipe_ops.output import echo, format_option
from aipipe_ops.sample.defaults import BILLING_FORMATS as FORMATS
from aipipe_ops.sample.defaults import DEFAULT_START, DEFAULT_TENANTS
from aipipe_ops.sample.pipelines import MIN_RUNS

# Bounds that keep a typo from meaning years of hourly rows; the size check covers the rest.
MAX_DAYS = 3660
MAX_TENANTS = 10_000


@click.command("sample")
@click.option("--runs", type=int, required=True,
              help=f"Pipeline runs in the fleet (at least {MIN_RUNS}: one per promised scenario).")
@click.option("--days", type=click.IntRange(1, MAX_DAYS), required=True,
              help=f"Days the fleet and its billing export cover (1 to {MAX_DAYS}).")
@click.option("--seed", type=int, default=1, show_default=True,
              help="Random seed: the same seed and options give the same fleet (identical billing and truth "
                   "files, the same store content).")
@click.option("--out", "out", type=click.Path(file_okay=False), required=True,
              help="Output directory: missing, empty, or a previous sample (it is replaced).")
@click.option("--billing-format", "billing_format", default=",".join(FORMATS), show_default=True,
              help="Comma-separated export formats to write: parquet, jsonl (a BigQuery NDJSON extract).")
@click.option("--start", default=DEFAULT_START.isoformat(), show_default=True,
              help="First day (UTC) of the window, YYYY-MM-DD.")
@click.option("--tenants", type=click.IntRange(0, MAX_TENANTS), default=DEFAULT_TENANTS, show_default=True,
              help="Notebook and model servers sharing the cluster; raises billing rows per hour "
                   f"(e.g. --runs 9000 --days 365 --tenants 200 gives about 10 million rows; at most {MAX_TENANTS}).")
@click.option("--force", is_flag=True,
              help="Replace --out even when it is a non-empty directory that is not a previous sample.")
@click.option("--no-size-check", "no_size_check", is_flag=True,
              help="Write the sample even when its estimated size exceeds the free space of --out's disk.")
@format_option()
def sample(runs: int, days: int, seed: int, out: str, billing_format: str, start: str, tenants: int, force: bool,
           no_size_check: bool, fmt: str) -> None:
    """Write a sample fleet as KFP v2, TFX and Cloud Billing would write it.

    DIR/mlmd.sqlite is an MLMD store (schema 10) written through ml-metadata; DIR/billing/ holds a GKE detailed
    billing export (gcp_billing_export_resource_v1 columns) as Parquet and NDJSON; DIR/ground_truth.json says
    what every run, step and bucket truly cost; DIR/fleet.json summarises it. See docs/sample-fleet.md.

    The size is estimated first: a sample that would not fit on the disk is refused before anything is written.
    """
    from aipipe_ops.sample.generate import generate_fleet  # pyarrow and ml-metadata load only when used

    result = generate_fleet(out, runs=runs, days=days, seed=seed, start=start, billing_formats=billing_format,
                            tenants=tenants, force=force, size_check=not no_size_check)
    s = result.summary
    counts = s["counts"]
    rows = [
        {"item": "directory", "value": str(result.out)},
        {"item": "window", "value": f"{s['window']['start']} .. {s['window']['end']}"},
        {"item": "runs", "value": counts["runs"]},
        {"item": "executions", "value": counts["executions"]},
        {"item": "artifacts", "value": counts["artifacts"]},
        {"item": "billing rows", "value": counts["billing_rows"]},
        {"item": "export total", "value": f"{s['export_total'][s['currency']]} {s['currency']}"},
        {"item": "MLMD clock", "value": s["mlmd"]["clock"]},
    ]
    echo(rows, ["item", "value"], fmt)


COMMANDS = [sample]
