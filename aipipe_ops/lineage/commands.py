"""`aipipe lineage ...` (snapshot, upstream, downstream, run, runs, migrate-copy) and `aipipe audit`."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import sys
from pathlib import Path

import click

from aipipe_ops.cli_context import pass_app
from aipipe_ops.errors import ConfigError, InputError, SourceError
from aipipe_ops.output import echo, format_option, plural, render, to_json
from aipipe_ops.lineage import graph
from aipipe_ops.lineage.sources.uri import PASSWORD_ENV, parse_store_uri
from aipipe_ops.vocabulary import RUN_STATES

MLMD_ENV = "AIPIPE_MLMD"
_MLMD_HELP = (f"The MLMD store: sqlite:///path/metadata.sqlite, mysql://user@host:3306/metadb (password from "
              f"${PASSWORD_ENV} or a prompt) or grpc://localhost:8080 [default: ${MLMD_ENV}].")


def _password_prompt(label: str) -> str | None:
    if not sys.stdin.isatty():
        return None
    return click.prompt(label, hide_input=True, default="", show_default=False)


_UNITS = {"d": "days", "h": "hours", "m": "minutes"}  # the unit letters of a look-back or a duration


def parse_since(text: str | None) -> dt.datetime | None:
    """An ISO date/time, or a look-back such as 7d, 12h, 30m."""
    if not text:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*([dhm])\s*", text)
    if match:
        delta = dt.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
        return dt.datetime.now(dt.timezone.utc) - delta
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ConfigError(f"--since {text!r}: expected a date (2026-11-01), a time (2026-11-01T08:00) or a "
                          f"look-back (7d, 12h, 30m)") from exc
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def parse_duration(text: str) -> dt.timedelta:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([dhm])\s*", text or "")
    if not match:
        raise ConfigError(f"--stuck-after {text!r}: expected a duration such as 24h, 2d or 90m")
    return dt.timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})


@click.group()
def lineage() -> None:
    """Read MLMD lineage (KFP v1/v2, TFX) read-only into the workspace and query it."""


@lineage.command("snapshot")
@click.option("--mlmd", "mlmd", envvar=MLMD_ENV, default=None, help=_MLMD_HELP)
@click.option("--kfp", "kfp", default=None,
              help="Read through the KFP REST API v2beta1 instead, e.g. http://localhost:8888 (kubectl -n kubeflow "
                   "port-forward svc/ml-pipeline 8888:8888). On KFP <= 2.17, --mlmd alongside resolves artifacts.")
@click.option("--namespace", default=None, help="With --kfp: the namespace of a multi-user KFP.")
@click.option("--token-env", default=None,
              help="With --kfp: an environment variable holding a bearer token (IAP: gcloud auth print-identity-token).")
@click.option("--auth", type=click.Choice(["adc"]), default=None,
              help="With --kfp: adc = send an ID token minted from application default credentials (IAP; a "
                   "service-account key in GOOGLE_APPLICATION_CREDENTIALS or a metadata server).")
@click.option("--audience", default=None,
              help="With --auth adc: the ID token's audience (IAP: its OAuth client id) [default: the --kfp URL].")
@click.option("--full", is_flag=True, help="Re-read everything instead of only what is new or changed.")
@click.option("--replace", is_flag=True, help="Drop the lineage of another store already in this workspace.")
@click.option("--batch-size", type=click.IntRange(50, 100000), default=None,
              help="Ids per store call [default: 5000; 1000 over gRPC].")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Output format of the summary.")
@pass_app
def snapshot_command(app, mlmd: str | None, kfp: str | None, namespace: str | None, token_env: str | None,
                     auth: str | None, audience: str | None, full: bool, replace: bool, batch_size: int | None,
                     fmt: str) -> None:
    """Copy an MLMD store (--mlmd) or a KFP API's lineage (--kfp) into the workspace; a re-run fetches only what
    is new or changed.

    The store is never written: SQLite opens READONLY, MySQL connects with skip_db_creation, no schema
    migration is ever triggered; the KFP API is only read (GET).
    """
    from aipipe_ops.lineage.snapshot import snapshot

    if kfp is None and (namespace or token_env or auth or audience):
        raise ConfigError("--namespace, --token-env, --auth and --audience go with --kfp URL")
    if audience and auth != "adc":
        raise ConfigError("--audience goes with --auth adc")
    if kfp is None and not mlmd:
        raise ConfigError(f"give --mlmd URI (or ${MLMD_ENV}) or --kfp URL")
    target = mlmd
    if kfp is not None:
        from aipipe_ops.lineage.sources.kfp_api import KfpTarget

        target = KfpTarget(url=kfp, namespace=namespace, token_env=token_env, mlmd=mlmd, auth=auth, audience=audience)
    with app.open_workspace() as ws:
        report = snapshot(ws, target, full=full, replace=replace, password_prompt=_password_prompt,
                          batch_size=batch_size)
    if fmt == "json":
        click.echo(to_json({"source": report.source, "full": report.full, "seconds": round(report.seconds, 3),
                            "orchestrators": report.orchestrators, "rows": report.rows,
                            "store_calls": report.store_calls, "calls": report.calls, "totals": report.totals,
                            "notes": report.notes}))
        return
    mode = "full copy" if report.full else "incremental"
    orchestrators = ", ".join(report.orchestrators) or "none detected"
    click.echo(f"snapshot of {report.source} ({mode}, orchestrators: {orchestrators}) "
               f"in {report.seconds:.1f} s with {report.store_calls} store calls")
    read = ", ".join(f"{report.rows.get(k, 0):,} {k}" for k in ("executions", "artifacts", "events", "contexts"))
    click.echo(f"read: {read}")
    echo([{"table": t, "rows": report.totals.get(t)} for t in ("runs", "steps", "artifacts", "events")],
         ["table", "rows"], "table")
    for note in report.notes:
        click.echo(f"note: {note}")


@lineage.command("migrate-copy")
@click.option("--mlmd", "mlmd", envvar=MLMD_ENV, required=True, help="The old SQLite store (sqlite:///path).")
@click.option("--out", "out", type=click.Path(dir_okay=False), required=True,
              help="Where to write the migrated copy (must not exist).")
def migrate_copy(mlmd: str, out: str) -> None:
    """Copy an old SQLite store and upgrade the COPY to the schema this aipipe reads; the original is untouched."""
    from aipipe_ops.lineage.sources.mlmd_connection import sqlite_config
    from ml_metadata.metadata_store import metadata_store

    uri = parse_store_uri(mlmd)
    if uri.scheme != "sqlite":
        raise ConfigError(f"--mlmd {uri.display}: migrate-copy works on SQLite files only; for a MySQL store, "
                          f"restore a dump into a scratch database and upgrade that")
    source, target = Path(uri.path), Path(out)
    if not source.is_file():
        raise SourceError(f"MLMD store {source} does not exist (from --mlmd {uri.display})")
    if target.exists():
        raise InputError(f"--out {target} exists: choose a new file (migrate-copy never overwrites)")
    if target.resolve() == source.resolve():
        raise InputError("--out must differ from the store: the original is never migrated")
    shutil.copyfile(source, target)
    try:
        metadata_store.MetadataStore(sqlite_config(target, read_only=False), enable_upgrade_migration=True)
    except Exception as exc:
        target.unlink(missing_ok=True)
        raise SourceError(f"migrating the copy of {source} failed: {exc}") from exc
    click.echo(f"migrated copy written to {target}; the original {source} is unchanged. "
               f"Next: aipipe lineage snapshot --mlmd sqlite://{target.resolve()}")


_GRAPH_FORMATS = ["tree", "json", "mermaid", "dot"]


def _graph_command(direction: str):
    verb = "produced" if direction == "upstream" else "consumed"

    @click.argument("ref")
    @click.option("--format", "fmt", type=click.Choice(_GRAPH_FORMATS), default="tree", show_default=True,
                  help="A tree for people, JSON, or Mermaid/DOT for a graph.")
    @click.option("--max-hops", type=click.IntRange(1, graph.MAX_HOPS), default=graph.MAX_HOPS, show_default=True,
                  help="How far to walk (artifact -> execution is one hop).")
    @pass_app
    def command(app, ref: str, fmt: str, max_hops: int) -> None:
        from aipipe_ops.lineage.views import FORMATS

        with app.open_workspace(read_only=True) as ws:
            ids = graph.resolve_artifacts(ws.con, ref)
            sub = graph.subgraph(ws.con, ids, direction, max_hops=max_hops)
        if fmt == "json":
            click.echo(to_json(sub.to_dict()))
        else:
            click.echo(FORMATS[fmt](sub))

    command.__doc__ = ("Provenance of an artifact (id or URI): every execution, artifact and run that led to it."
                       if direction == "upstream" else
                       f"Impact of an artifact (id or URI): every execution, artifact and run that {verb} it "
                       f"or what was made from it.")
    return lineage.command(direction)(command)


_graph_command("upstream")
_graph_command("downstream")


@lineage.command("run")
@click.argument("run_id")
@click.option("--format", "fmt", type=click.Choice(["tree", "table", "json"]), default="tree", show_default=True,
              help="A tree of steps with inputs and outputs, a table of steps, or JSON.")
@pass_app
def run_command(app, run_id: str, fmt: str) -> None:
    """One run: its steps, their states, inputs, outputs, pods and cache origins."""
    from aipipe_ops.lineage.views import run as run_view

    with app.open_workspace(read_only=True) as ws:
        run = graph.run_detail(ws.con, run_id)
    if fmt == "json":
        click.echo(to_json(run))
    elif fmt == "table":
        rows = [{**s, "inputs": len(s["inputs"]), "outputs": len(s["outputs"])} for s in run["steps"]]
        echo(rows, ["execution_id", "step", "component", "state", "cached_from", "pod_name", "inputs", "outputs",
                    "created_at", "updated_at"], "table", title=f"run {run['run_id']} [{run['state']}]")
    else:
        click.echo(run_view.render(run))


@lineage.command("runs")
@click.option("--pipeline", default=None, help="Only runs of this pipeline.")
@click.option("--since", default=None, help="Only runs created since a date (2026-11-01) or a look-back (7d, 12h).")
@click.option("--state", type=click.Choice(RUN_STATES, case_sensitive=False), default=None,
              help="Only runs in this state (any case).")
@format_option()
@pass_app
def runs_command(app, pipeline: str | None, since: str | None, state: str | None, fmt: str) -> None:
    """List runs with their pipeline, state, times and step counts, newest first."""
    with app.open_workspace(read_only=True) as ws:
        rows = graph.list_runs(ws.con, pipeline=pipeline, since=parse_since(since), state=state and state.upper())
    echo(rows, ["run_id", "pipeline", "orchestrator", "namespace", "state", "created_at", "finished_at", "steps",
                "cached", "failed"], fmt)


@click.command("audit")
@click.option("--rule", "rules", multiple=True, help="Run only this rule (repeatable); see --list.")
@click.option("--fail-on", type=click.Choice(["warning", "error", "never"]), default="error", show_default=True,
              help="Exit with status 1 when a finding of this severity or worse is reported.")
@click.option("--stuck-after", default="24h", show_default=True,
              help="A RUNNING run with no change for this long (from the snapshot time) is stuck.")
@click.option("--no-remote", is_flag=True, help="Do not check gs:// URIs even when Google credentials are configured.")
@click.option("--allowed-data", "allowed_data", multiple=True, metavar="PREFIX",
              help="An approved prefix of training data, e.g. gs://acme-ml-data/ (repeatable); without one, "
                   "unapproved-data-source reports only datasets with no producer.")
@click.option("--cost-factor", type=click.FloatRange(1, min_open=True), default=3, show_default=True,
              help="cost-anomaly: a run costing more than this times its pipeline's median run.")
@click.option("--duration-factor", type=click.FloatRange(1, min_open=True), default=3, show_default=True,
              help="cost-anomaly: a step running more than this times its usual duration in its pipeline.")
@click.option("--list", "list_rules", is_flag=True, help="List the rules with their severities and exit.")
@format_option()
@click.pass_context
def audit(ctx, rules, fail_on: str, stuck_after: str, no_remote: bool, allowed_data: tuple[str, ...],
          cost_factor: float, duration_factor: float, list_rules: bool, fmt: str) -> None:
    """Audit the lineage in the workspace: pushes without blessing, models released without evaluation, refused
    models pushed, models trained on anomalous or unapproved data, images by tag, failed, stuck and anomalous runs,
    steps that cannot be costed, artifacts whose data is gone.

    Exit status: 0 when nothing at or above --fail-on was found, 1 when something was (for CI), 2 on errors
    (including a workspace that holds no lineage).
    """
    from aipipe_ops.lineage.audit.finding import AuditContext
    from aipipe_ops.lineage.audit.registry import (AuditFailed, all_rules, fails, require_lineage, run_audit,
                                                   snapshot_time)

    if list_rules:
        echo([{"rule": r.name, "severity": str(r.severity), "checks": r.title} for r in all_rules()],
             ["rule", "severity", "checks"], fmt)
        return
    app = ctx.obj
    duration = parse_duration(stuck_after)
    with app.open_workspace(read_only=True) as ws:
        require_lineage(ws.con)
        context = AuditContext(con=ws.con, as_of=snapshot_time(ws.con), stuck_after=duration,
                               check_remote=not no_remote,
                               options={"allowed_data": allowed_data, "cost_factor": cost_factor,
                                        "duration_factor": duration_factor})
        findings = run_audit(context, list(rules) or None)
    if fmt == "json":
        click.echo(to_json([f.to_json() for f in findings]))
    else:
        click.echo(render([f.to_row() for f in findings], ["severity", "rule", "subject", "runs", "message",
                                                          "evidence"], fmt))
        if fmt == "table":
            counts = {s: sum(1 for f in findings if str(f.severity) == s) for s in ("error", "warning", "info")}
            click.echo(f"{plural(counts['error'], 'error')}, {plural(counts['warning'], 'warning')}, "
                       f"{counts['info']} info "
                       f"(as of the snapshot at {context.as_of:%Y-%m-%d %H:%M} UTC)")
    if fails(findings, fail_on):
        worst = max(f.severity for f in findings)
        count = sum(1 for f in findings if f.severity == worst)
        raise AuditFailed(f"audit failed: {plural(count, f'{worst} finding')} (--fail-on {fail_on})")


COMMANDS = [lineage, audit]
