"""Regenerate what README.md and docs/estimate.md quote of aipipe's output, from the real commands.

Each quoted output or figure sits in a marked region, invisible once the Markdown is rendered:

    <!-- generated: demo-costs -->            a block (a code block or a table), on lines of its own
    ...
    <!-- end generated -->
    idles at about <!-- gen:dev-monthly-min -->112<!-- /gen --> USD     a figure inside prose

`python tools/generate_docs.py` (what `make docs` runs) runs the commands once each into a scratch directory
(`make demo`'s own `aipipe` lines from the Makefile, on the sample fleet; `aipipe estimate` of the example
stacks with the shipped price book) and rewrites every region. tests/test_docs_generated.py renders the
same regions in memory and fails when the checked-in text differs. It is a development tool: nothing in
aipipe_ops imports it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cached_property
from pathlib import Path
from typing import Callable

PROJECT_DIR = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"(?P<open><!-- generated: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(?P<close><!-- end generated -->)",
                   re.S)
INLINE = re.compile(r"(?P<open><!-- gen:(?P<name>[\w-]+) -->)(?P<body>[^\n]*?)(?P<close><!-- /gen -->)")
ESTIMATED_STACKS = ("dev", "prod")
NUMBER_WORDS = "zero one two three four five six seven eight nine ten eleven twelve".split()


class DocsError(Exception):
    """A command failed, or a file's markers and this tool's regions disagree."""


# -- the commands, each run once -------------------------------------------------------------------------
def aipipe(args: list[str], workspace: Path) -> str:
    """stdout of `aipipe ARGS` in a child process, on the given workspace, as a user runs it from the checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIPIPE_")}  # no user book or workspace
    env.update(AIPIPE_WORKSPACE=str(workspace), AIPIPE_NO_PROGRESS="1")
    done = subprocess.run([sys.executable, "-m", "aipipe_ops", *args], cwd=PROJECT_DIR, env=env,
                          capture_output=True, text=True)
    # `aipipe estimate --budget` exits 1 over budget: its output is still what the docs quote.
    if done.returncode != 0 and not (done.returncode == 1 and done.stdout.strip()):
        stderr = done.stderr.strip().splitlines()[-1:] or ["(nothing on stderr)"]
        raise DocsError(f"`aipipe {shlex.join(args)}` exited {done.returncode}: {stderr[0]}")
    return done.stdout


def demo_commands(makefile: Path, sample: Path, reports: Path) -> list[list[str]]:
    """The Makefile's `demo:` recipe lines that run aipipe, up to `aipipe costs`, on the given directories."""
    recipe = re.search(r"^demo:.*\n((?:\t.*\n)+)", makefile.read_text(), re.M)
    if recipe is None:
        raise DocsError(f"{makefile} has no demo: target")
    commands = []
    for line in recipe.group(1).splitlines():
        line = line.strip()
        if not line.startswith("$(AIPIPE) "):
            continue
        line = line.replace("$(SAMPLE)", str(sample)).replace("$(REPORTS)", str(reports))
        commands.append(shlex.split(line)[1:])
        if commands[-1][0] == "costs":
            return commands
    raise DocsError(f"the demo: target of {makefile} never runs `aipipe costs`")


class Sources:
    """The commands' outputs, each computed on first use (`prefetch` runs them all side by side)."""

    def __init__(self, scratch: Path):
        self.scratch = Path(scratch)
        self._estimates: dict[str, dict] = {}

    def prefetch(self) -> None:
        with ThreadPoolExecutor(max_workers=1 + len(ESTIMATED_STACKS)) as pool:
            jobs = [pool.submit(lambda: self.demo), *(pool.submit(self.estimate, s) for s in ESTIMATED_STACKS)]
            for job in jobs:
                job.result()

    @cached_property
    def demo(self) -> dict:
        """`make demo` up to `aipipe costs`: {"costs": its stdout, "fleet": the sample's fleet.json}."""
        root = self.scratch / "demo"
        root.mkdir(parents=True, exist_ok=True)
        sample = root / "sample"
        out = ""
        for args in demo_commands(PROJECT_DIR / "Makefile", sample, root / "reports"):
            out = aipipe(args, root / "workspace.duckdb")
        fleet = json.loads((sample / "fleet.json").read_text())
        if fleet["mlmd"]["clock"] != "libfaketime":
            # Without it the store's times are today's and the costs differ from the demo's.
            raise DocsError("the sample fleet needs libfaketime (`bash .ci/system-deps demo` installs it)")
        return {"costs": out, "fleet": fleet}

    def estimate(self, stack: str) -> dict:
        """`aipipe estimate --stack STACK --format json` (prod against its own budget), shipped price book."""
        if stack not in self._estimates:
            root = self.scratch / f"estimate-{stack}"
            root.mkdir(parents=True, exist_ok=True)
            budget = ["--budget", "stack"] if stack == "prod" else []
            out = aipipe(["estimate", "--stack", stack, *budget, "--format", "json"], root / "workspace.duckdb")
            self._estimates[stack] = json.loads(out)
        return self._estimates[stack]


# -- formatting, as the CLI's tables round (half even) ----------------------------------------------------
def money(value: str | Decimal, places: int = 2) -> str:
    return f"{Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN):,.{places}f}"


def price(value: str | Decimal) -> str:
    """A unit price with every digit it has, at least two places (0.1 -> 0.10)."""
    value = Decimal(value).normalize()
    return money(value, max(2, -value.as_tuple().exponent))


def count(value: int) -> str:
    return f"{value:,}"


def line_of(estimate: dict, component_prefix: str) -> dict:
    lines = [line for r in estimate["resources"] for line in r["lines"] if line["component"].startswith(component_prefix)]
    if len(lines) != 1:
        raise DocsError(f"stack {estimate['stack']}: {len(lines)} lines named {component_prefix!r}, expected 1")
    return lines[0]


# -- README.md ---------------------------------------------------------------------------------------------
def demo_costs(src: Sources) -> str:
    """`aipipe costs` after `make demo`: every pipeline row, the first row of each other class, then the
    reconciliation; left-out rows are one `...` line."""
    lines = [line.rstrip() for line in src.demo["costs"].rstrip("\n").splitlines()]
    header = next(i for i, line in enumerate(lines) if line.startswith("class "))
    end = lines.index("", header)
    kept, seen, skipped = [], set(), False
    for row in lines[header + 1:end]:
        cls = row.split()[0]
        if cls == "pipeline" or cls not in seen:
            if skipped:
                kept.append("...")
            kept.append(row)
            skipped = False
        else:
            skipped = True
        seen.add(cls)
    if skipped:
        kept.append("...")
    return "```\n" + "\n".join(lines[:header + 1] + kept + lines[end:]) + "\n```\n"


def sample_pipelines(src: Sources) -> str:
    n = len(src.demo["fleet"]["pipelines"])
    return NUMBER_WORDS[n] if n < len(NUMBER_WORDS) else count(n)


def whole_usd(stack: str, total: str) -> Callable[[Sources], str]:
    return lambda src: money(src.estimate(stack)["totals"][total], 0)


def price_book_date(src: Sources) -> str:
    found = re.search(r"\d{4}-\d{2}-\d{2}", src.estimate("dev")["price_book"])
    if found is None:
        raise DocsError(f"no date in the price book's name: {src.estimate('dev')['price_book']!r}")
    return found.group()


# -- docs/estimate.md --------------------------------------------------------------------------------------
def worked_example(stack: str) -> Callable[[Sources], str]:
    """The stack's lines at their maximum, as a Markdown table a reviewer can add up."""

    def render(src: Sources) -> str:
        est = src.estimate(stack)
        rows = [f"| line | max quantity | unit price | monthly max ({est['currency']}) |", "|---|---:|---:|---:|"]
        for resource in est["resources"]:
            for line in resource["lines"]:
                cells = [line["component"], "", "", money(line["monthly_max"])]
                if line["kind"] != "credit":
                    cells[1:3] = [quantity(line["quantity_max"], line["unit"]),
                                  f"{price(line['unit_price'])} /{line['price_unit']}"]
                rows.append(re.sub(r"\|  (?=\|)", "| ", "| " + " | ".join(cells) + " |"))
        rows.append(f"| **total** | | | **{money(est['totals']['monthly_max'])}** |")
        return "\n".join(rows) + "\n"

    return render


def count_or_decimal(value: str) -> str:
    value = Decimal(value)
    return count(int(value)) if value == value.to_integral_value() else format(value.normalize(), "f")


def quantity(value: str, unit: str) -> str:
    """`16 vCPUs`, `1 cluster`: the estimate's units are plural."""
    if Decimal(value) == 1 and unit.endswith("s"):
        unit = unit[:-1]
    return f"{count_or_decimal(value)} {unit}"


def cluster_fee_rate(src: Sources) -> str:
    return price(line_of(src.estimate("dev"), "Cluster management fee")["unit_price"])


def free_tier_credit(src: Sources) -> str:
    return money(-Decimal(line_of(src.estimate("dev"), "GKE free tier credit")["monthly_max"]))


def free_tier_monthly(src: Sources) -> str:
    from aipipe_ops.pricing.priced.cluster_fee import FREE_TIER_HOURS

    return money(FREE_TIER_HOURS * Decimal(line_of(src.estimate("dev"), "GKE free tier credit")["unit_price"]))


def tpu_example(src: Sources) -> str:
    line = line_of(src.estimate("prod"), "TPU chips")
    slice_shape = re.match(r"\d+ VMs x \d+ chips", line["note"] or "")
    if slice_shape is None:
        raise DocsError(f"prod's TPU line no longer says its VMs and chips: {line['note']!r}")
    return (f"{slice_shape.group()} = {count_or_decimal(line['quantity_max'])} chips x ${price(line['unit_price'])} = "
            f"${money(line['hourly_max'])}/h, ${money(line['monthly_max'])}/month")


def nat_per_gib(src: Sources) -> str:
    nat = next((r for r in src.estimate("dev")["not_priced"] if r["resource_type"] == "gcp:compute/routerNat:RouterNat"), None)
    found = re.search(r"\$([\d.]+) per GiB processed", nat["reason"] if nat else "")
    if found is None:
        raise DocsError("the estimate no longer quotes Cloud NAT's price per GiB processed")
    return found.group(1)


def prod_budget_verdict(src: Sources) -> str:
    budget = src.estimate("prod")["budget"]
    headroom = Decimal(budget["headroom"])
    if budget["over"]:
        return (f"over its own budget (monthly maximum ${money(budget['monthly_max'])} against "
                f"${money(budget['amount'])}, ${money(-headroom)} over)")
    return (f"within its own budget (monthly maximum ${money(budget['monthly_max'])} against "
            f"${money(budget['amount'])}, ${money(headroom)} to spare)")


# file -> region name -> what renders it; a region here must be marked in its file and the reverse
REGIONS: dict[str, dict[str, Callable[[Sources], str]]] = {
    "README.md": {
        "demo-costs": demo_costs,
        "sample-pipelines": sample_pipelines,
        "sample-executions": lambda src: count(src.demo["fleet"]["counts"]["executions"]),
        "sample-billing-rows": lambda src: count(src.demo["fleet"]["counts"]["billing_rows"]),
        "dev-monthly-min": whole_usd("dev", "monthly_min"),
        "dev-monthly-max": whole_usd("dev", "monthly_max"),
        "prod-monthly-min": whole_usd("prod", "monthly_min"),
        "prod-monthly-max": whole_usd("prod", "monthly_max"),
        "price-book-date": price_book_date,
    },
    "docs/estimate.md": {
        "cluster-fee-rate": cluster_fee_rate,
        "free-tier-credit": free_tier_credit,
        "tpu-example": tpu_example,
        "free-tier-monthly": free_tier_monthly,
        "dev-worked-example": worked_example("dev"),
        "nat-per-gib": nat_per_gib,
        "prod-budget-verdict": prod_budget_verdict,
    },
}


def render_file(name: str, text: str, src: Sources) -> tuple[str, list[tuple[str, str, str]]]:
    """(the file's text with every region regenerated, [(region, checked-in body, generated body) that differ])."""
    renderers = REGIONS[name]
    found: list[str] = []
    stale: list[tuple[str, str, str]] = []

    def substitute(match: re.Match) -> str:
        region = match["name"]
        if region not in renderers:
            raise DocsError(f"{name}: region {region!r} is marked but tools/generate_docs.py has no renderer for it")
        found.append(region)
        body = renderers[region](src)
        if body != match["body"]:
            stale.append((region, match["body"], body))
        return match["open"] + body + match["close"]

    text = INLINE.sub(substitute, BLOCK.sub(substitute, text))
    missing = sorted(set(renderers) - set(found))
    if missing:
        raise DocsError(f"{name}: the markers of {', '.join(missing)} are gone (restore them, or drop the region "
                        f"from tools/generate_docs.py)")
    return text, stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when a region is stale")
    args = parser.parse_args(argv)
    try:
        with tempfile.TemporaryDirectory(prefix="aipipe-docs-") as scratch:
            src = Sources(Path(scratch))
            src.prefetch()
            stale_files = 0
            for name in REGIONS:
                path = PROJECT_DIR / name
                text, stale = render_file(name, path.read_text(), src)
                if not stale:
                    print(f"{name}: up to date")
                    continue
                stale_files += 1
                regions = ", ".join(region for region, _, _ in stale)
                if args.check:
                    print(f"{name}: stale: {regions}")
                else:
                    path.write_text(text)
                    print(f"{name}: regenerated {regions}")
    except DocsError as exc:
        print(f"generate_docs: error: {exc}", file=sys.stderr)
        return 2
    return 1 if args.check and stale_files else 0


if __name__ == "__main__":
    sys.exit(main())
