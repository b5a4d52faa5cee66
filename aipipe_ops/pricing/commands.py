"""`aipipe prices refresh|show` and `aipipe estimate`: parse, call the pricing modules, print.

Heavy imports (Pulumi, the Catalog client) happen inside the commands, so `aipipe --help` stays fast.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path

import click

from aipipe_ops.cli_context import pass_app
from aipipe_ops.errors import BudgetExceededError, ConfigError
from aipipe_ops.output import echo, format_option, plural

from aipipe_ops.pricing.estimate_formats import FORMATS as ESTIMATE_FORMATS
from aipipe_ops.pricing.price_book_scope import PRICE_BOOK_REGIONS
from aipipe_ops.pricing.target_options import target_options, target_spec

KINDS = ("cpu", "ram", "gpu", "tpu", "disk", "cluster_fee", "other")

price_book_option = click.option(
    "--price-book", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Price book file [default: $AIPIPE_PRICE_BOOK, else the one `aipipe prices refresh` wrote beside the "
         "workspace, else the shipped snapshot].")


@click.group("prices")
def prices() -> None:
    """The price book: Cloud Billing Catalog SKUs the estimate uses (a dated snapshot ships with aipipe)."""


@prices.command("show")
@click.option("--filter", "text_filter", metavar="TEXT", default=None,
              help="Only SKUs whose id, description, region, kind, family or purchase option contains TEXT "
                   "(case-insensitive).")
@click.option("--region", "regions", multiple=True, help="Only this region (repeatable); `global` for GKE fees.")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(KINDS), help="Only this resource kind (repeatable).")
@price_book_option
@format_option()
def show(text_filter: str | None, regions: tuple[str, ...], kinds: tuple[str, ...], price_book: Path | None,
         fmt: str) -> None:
    """List the price book: one row per SKU and region, with its unit price, date and public source."""
    from aipipe_ops.pricing.price_book import PriceBook

    book = PriceBook.load(price_book)
    rows = book.rows(text_filter, regions, kinds)
    columns = ["sku_id", "description", "region", "resource_kind", "purchase", "unit", "unit_price", "currency",
               "source_date", "unverified"]
    if fmt != "table":
        columns += ["service", "family", "usage_type", "effective_time", "source"]
    else:
        doubted = sum(1 for row in rows if row["unverified"])
        click.echo(f"Price book: {book.label}; {len(rows)} of {sum(len(p.regions) for p in book.iter_prices())} "
                   "SKU-region rows" + (f"; {doubted} UNVERIFIED (the book's sources doubt them: check before "
                                        "relying on them)" if doubted else ""))
    echo(rows, columns, fmt)


@prices.command("refresh")
@click.option("--currency", default="USD", show_default=True,
              help="ISO 4217 currency of the prices (the Catalog API converts at its own rate).")
@click.option("--region", "regions", multiple=True, default=PRICE_BOOK_REGIONS, show_default=True,
              help="Region to keep SKUs for (repeatable).")
@click.option("--output", "output_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the price book [default: price_book.json beside the workspace].")
@click.option("--endpoint", default=None, envvar="AIPIPE_CATALOG_ENDPOINT",
              help="Cloud Billing API endpoint, e.g. a proxy or a local test server such as http://127.0.0.1:8080 "
                   "[default: $AIPIPE_CATALOG_ENDPOINT or cloudbilling.googleapis.com].")
@click.option("--anonymous", is_flag=True,
              help="Send no credentials (a local server). Otherwise $AIPIPE_CATALOG_API_KEY (an API key with the "
                   "Cloud Billing API enabled) or Application Default Credentials.")
@click.option("--page-size", type=click.IntRange(1, 5000), default=5000, show_default=True,
              help="SKUs per Catalog API page.")
@pass_app
def refresh(app, currency: str, regions: tuple[str, ...], output_path: Path | None, endpoint: str | None,
            anonymous: bool, page_size: int) -> None:
    """Replace the price book with live prices from the Cloud Billing Catalog API, and load them into the
    workspace table `prices`. The file is replaced atomically, only after every page was read."""
    from aipipe_ops.pricing.catalog_refresh import catalog_client, refresh_price_book
    from aipipe_ops.pricing.workspace_tables import load_prices_table
    from aipipe_ops.pricing.price_book import default_refresh_path

    target = output_path or default_refresh_path()
    client = catalog_client(endpoint=endpoint, anonymous=anonymous)
    result = refresh_price_book(client, target, currency=currency.upper(), regions=regions, page_size=page_size)
    with app.open_workspace() as workspace:
        rows = load_prices_table(workspace, result.book)
    click.echo(f"Wrote {target}: {plural(result.sku_count, 'SKU')} from {plural(result.pages, 'page')} of "
               f"{plural(len(result.services), 'service')}, {result.book.currency}; {plural(rows, 'row')} in the "
               "workspace `prices` table.")
    for gap in result.gaps:
        click.echo(f"  no price: {gap}", err=True)


def _budget_amount(text: str | None) -> tuple[Decimal | None, bool]:
    """(amount, use the stack's budget)."""
    if text is None:
        return None, False
    if text.strip().lower() == "stack":
        return None, True
    try:
        amount = Decimal(text.replace(",", "").replace("_", ""))
    except InvalidOperation as exc:
        raise ConfigError(f"--budget {text!r}: expected an amount such as 5000 or 'stack'") from exc
    if not amount.is_finite() or amount < 0:
        raise ConfigError(f"--budget {text!r}: expected a non-negative amount")
    return amount, False


def _actual_window(actual: bool, since, until, other: str | None, budget_text: str | None):
    """The usage window of --actual; --since/--until without it, or --actual with --diff/--budget, are refused."""
    from aipipe_ops.billing.normalise import UsageWindow

    if not actual:
        if since or until:
            raise ConfigError("--since/--until select billed usage days: give them with --actual")
        return None
    if other or budget_text is not None:
        raise ConfigError("--actual compares one estimate with the bill: leave out --diff and --budget")
    window = UsageWindow(since.date() if since else None, until.date() if until else None)
    if window.since and window.until and window.since > window.until:
        raise ConfigError(f"--since {window.since} is after --until {window.until}")
    return window


@click.command("estimate")
@target_options
@click.option("--diff", "other", metavar="OTHER",
              help="Show the change from OTHER (the baseline) to this estimate: a stack name, a Pulumi.<name>.yaml "
                   "file or a plan file.")
@click.option("--budget", "budget_text", metavar="AMOUNT",
              help="Exit with status 1 when the monthly maximum exceeds AMOUNT (in the price book's currency), or "
                   "the stack's own budget with `--budget stack`; for CI.")
@click.option("--allow-unpriced", is_flag=True,
              help="With --budget: check the priced lines only, instead of failing when some line has no price.")
@click.option("--free-tier/--no-free-tier", default=True, show_default=True,
              help="Apply the GKE free-tier credit once (one zonal or Autopilot cluster per billing account); turn "
                   "it off when another cluster of the billing account already uses it.")
@price_book_option
@click.option("--format", "fmt", type=click.Choice(ESTIMATE_FORMATS), default="table", show_default=True,
              help="table for people, json or csv for machines, markdown for a pull-request comment.")
@click.option("--output", "output_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the rendering to this file instead of standard output (written atomically).")
@click.option("--save", is_flag=True,
              help="Also store the lines in the workspace table estimate_lines (replacing what it held).")
@click.option("--no-cache", is_flag=True,
              help="Run the stack's program even when an identical run is cached beside the workspace (the "
                   "cache key covers the program's files, the stack config and the Pulumi SDK versions).")
@click.option("--actual", is_flag=True,
              help="Compare the estimate with what the billing export in the workspace charged the stack's clusters "
                   "and node pools (net of credits, scaled to a 730-hour month): a verdict per line.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="With --actual: first US/Pacific usage day billed (YYYY-MM-DD) [default: all in the workspace].")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="With --actual: last US/Pacific usage day billed (YYYY-MM-DD).")
@pass_app
def estimate(app, stack: str | None, plan_file: Path | None, project_dir: Path, other: str | None,
             budget_text: str | None, allow_unpriced: bool, free_tier: bool, price_book: Path | None, fmt: str,
             output_path: Path | None, save: bool, no_cache: bool, actual: bool, since, until) -> None:
    """Price a stack before `pulumi up`: per resource and component, hourly and monthly (730 h), at the
    autoscaling minimum and maximum, spot versus on-demand. A line that cannot be priced says why.

    With --actual, put the estimate beside the billed cost of the stack's clusters and node pools: below the
    minimum, within, or above the maximum (naming the SKUs of the excess), and the lines only one side has."""
    from aipipe_ops.pricing.diff import diff_estimates, render_diff
    from aipipe_ops.pricing.estimate import estimate_resources
    from aipipe_ops.pricing.estimate_formats import render_estimate
    from aipipe_ops.pricing.estimate_report import budget_check
    from aipipe_ops.pricing.price_book import PriceBook
    from aipipe_ops.pricing.targets import load_plan

    spec = target_spec(stack, plan_file)
    window = _actual_window(actual, since, until, other, budget_text)
    budget, use_stack_budget = _budget_amount(budget_text)
    book = PriceBook.load(price_book)
    project_dir = project_dir.resolve()

    def priced(spec: str):
        from aipipe_ops.pricing.plan_checks import check_priceable

        plan = load_plan(spec, project_dir, use_cache=not no_cache)
        result = estimate_resources(plan.resources, book, free_tier=free_tier, stack=plan.stack,
                                    project=plan.project, plan_source=plan.source, project_dir=project_dir)
        check_priceable(result, plan.resources, book, f"stack {plan.stack}" if plan.stack else spec)
        return result

    result = priced(spec)
    planned = None
    if actual or save:
        from aipipe_ops.pricing.actuals import planned_from_estimate

        planned = planned_from_estimate(result)
    if actual:
        from aipipe_ops.pricing.actuals import compare_with_bill
        from aipipe_ops.pricing.actuals_formats import render_comparison

        with app.open_workspace(read_only=True) as workspace:
            text = render_comparison(compare_with_bill(workspace.con, planned, window), fmt)
    elif other:
        text = render_diff(diff_estimates(priced(other), result), fmt)
        if fmt == "markdown" and (budget is not None or use_stack_budget):
            from aipipe_ops.pricing.markdown import budget_markdown, unverified_markdown

            # The diff's comment carries the verdict the exit status gives (the budget is checked on this side).
            text += "\n\n" + "\n".join(budget_markdown(result, budget) + unverified_markdown(result)).rstrip()
        elif fmt == "markdown":
            from aipipe_ops.pricing.markdown import unverified_markdown

            extra = unverified_markdown(result)
            text += ("\n\n" + "\n".join(extra).rstrip()) if extra else ""
    else:
        text = render_estimate(result, fmt, budget)
    if output_path:
        from aipipe_ops.atomic import write_text_atomic

        write_text_atomic(output_path, text + "\n")
    else:
        click.echo(text)
    if save:
        from aipipe_ops.pricing.workspace_tables import save_estimate_lines

        with app.open_workspace() as workspace:
            save_estimate_lines(workspace, result, planned)

    if budget is None and not use_stack_budget:
        return
    check = budget_check(result, budget)
    if check is None:
        raise ConfigError("--budget stack: the plan declares no gcp:billing/budget:Budget with a specified amount")
    if not check["comparable"]:
        raise ConfigError(f"the budget is in {check['currency']} and the price book in {result.currency}: refresh "
                          f"the price book with `aipipe prices refresh --currency {check['currency']}`")
    totals = result.totals
    if totals.unpriced and not allow_unpriced:
        raise BudgetExceededError(
            f"{plural(totals.unpriced, 'line')} could not be priced, so the monthly maximum is not known and the budget of "
            f"{check['amount']} {check['currency']} cannot be proven (pass --allow-unpriced to check the priced "
            "lines only)")
    if check["over"]:
        raise BudgetExceededError(
            f"estimated monthly maximum {totals.monthly_max.quantize(Decimal('0.01'))} {result.currency} exceeds the "
            f"budget of {check['amount']} {check['currency']} ({check['source']})")


COMMANDS = [prices, estimate]
