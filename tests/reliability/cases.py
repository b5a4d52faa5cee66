"""The reliability pass as data: one row per bad input or fault, with what aipipe must answer.

Each case: the arguments of `aipipe` (placeholders: {ws} a copy of the loaded workspace, {mlmd} and {parquet} copies
of the sample's MLMD store and billing export, {cwd} the case's own folder), the inputs its setup makes, the
expected exit status and first line of stderr (a regex), and which new paths it may write. Unless a case says it
writes, every file the test made is byte-identical afterwards and nothing new exists in the case's folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]
    exit: int
    stderr: str | None                      # regex for the first line of stderr; None: stderr must be empty
    setup: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    stdout: str | None = None                # regex searched in stdout
    not_stdout: str | None = None            # regex that must NOT occur in stdout
    writes: tuple[str, ...] = ()             # paths (relative to the case folder) the command may create or change
    check: str | None = None                 # name of an extra check in test_reliability.EXTRA_CHECKS


def case(id, args, exit, stderr, **kw) -> Case:
    kw = {k: tuple(v.items()) if k == "env" else tuple(v) if isinstance(v, list) else v for k, v in kw.items()}
    return Case(id, tuple(args.split()) if isinstance(args, str) else tuple(args), exit, stderr, **kw)


ERR = r"^aipipe: error: "
MISSING = ERR + r"workspace .* does not exist"
USAGE = ERR + r".*\(see `aipipe[a-z ]*--help`\)$"

# The commands that only read the workspace (costs derives its tables from what was loaded, but loads nothing).
READ_COMMANDS = {
    "costs": "costs",
    "costs-by-run": "costs --by run",
    "audit": "audit",
    "lineage-runs": "lineage runs",
    "lineage-run": "lineage run no-such-run",
    "lineage-upstream": "lineage upstream 1",
    "lineage-downstream": "lineage downstream 1",
    "report": "report --out out",
    "workspace-info": "workspace info",
}

CASES: list[Case] = []

# §2 reads create nothing: a missing workspace, given three ways, is an error that creates no file or folder.
for name, cmd in READ_COMMANDS.items():
    CASES += [
        case(f"missing-ws-option-{name}", f"--workspace no/such/ws.duckdb {cmd}", 2, MISSING),
        case(f"missing-ws-env-{name}", cmd, 2, MISSING, env={"AIPIPE_WORKSPACE": "{cwd}/no/such/dir/ws.duckdb"}),
        case(f"missing-ws-default-{name}", cmd, 2, ERR + r"workspace \.aipipe/workspace\.duckdb does not exist"),
        # §3 a file that is not a DuckDB database is refused with one line naming it, and left as it was.
        case(f"sqlite-as-ws-{name}", f"--workspace copy.sqlite {cmd}", 2,
             ERR + r"workspace copy\.sqlite is a SQLite database, not a DuckDB workspace", setup=["sqlite_ws"]),
        case(f"text-as-ws-{name}", f"--workspace notes.duckdb {cmd}", 2,
             ERR + r"workspace notes\.duckdb is not a DuckDB database$", setup=["text_ws"]),
    ]

CASES += [
    case("empty-workspace-option", ["--workspace", "", "costs"], 2, USAGE + r"|" + ERR + r".*--workspace.*empty"),
    case("blank-workspace-option", ["--workspace", "  ", "audit"], 2, ERR + r".*--workspace.*empty"),
    case("workspace-is-directory", "--workspace wsdir costs", 2, ERR + r".*wsdir.*director", setup=["dir_ws"]),
    case("truncated-duckdb-costs", "--workspace half.duckdb costs", 2, ERR + r".*half\.duckdb", setup=["truncated_ws"]),
    case("truncated-duckdb-info", "--workspace half.duckdb workspace info", 2, ERR + r".*half\.duckdb",
         setup=["truncated_ws"]),
    case("empty-file-ws-read", "--workspace empty.duckdb lineage runs", 2, ERR + r".*empty\.duckdb",
         setup=["empty_file"], writes=["empty.duckdb", "empty.duckdb.wal"]),
    case("sqlite-as-ws-load", "--workspace copy.sqlite billing load --billing {parquet}", 2,
         ERR + r"workspace copy\.sqlite is a SQLite database", setup=["sqlite_ws", "parquet"]),
    case("sqlite-as-ws-snapshot", "--workspace copy.sqlite lineage snapshot --mlmd {mlmd}", 2,
         ERR + r"workspace copy\.sqlite is a SQLite database", setup=["sqlite_ws", "mlmd"]),
    case("text-as-ws-load", "--workspace notes.duckdb billing load --billing {parquet}", 2,
         ERR + r"workspace notes\.duckdb is not a DuckDB database", setup=["text_ws", "parquet"]),
    # Loading commands may create the workspace, and only where asked.
    case("load-creates-workspace", "--workspace new/ws.duckdb billing load --billing {parquet}", 0, None,
         setup=["parquet"], writes=["new"], stdout=r"cost_lines"),
    case("snapshot-creates-workspace", "lineage snapshot --mlmd {mlmd}", 0, None, setup=["mlmd"],
         writes=[".aipipe"], stdout=r"snapshot of"),
    case("costs-billing-creates-workspace", "costs --billing {parquet}", 0, None, setup=["parquet"],
         writes=[".aipipe"], stdout=r"Reconciliation"),
]

# Working commands on the loaded workspace (the baseline the failures are measured against).
CASES += [
    case("ok-workspace-info", "--workspace {ws} workspace info", 0, None, setup=["ws"], stdout=r"cost_lines"),
    case("ok-lineage-runs", "--workspace {ws} lineage runs", 0, None, setup=["ws"], stdout=r"run_id"),
    case("ok-lineage-runs-json", "--workspace {ws} lineage runs --format json", 0, None, setup=["ws"],
         stdout=r"^\["),
    case("ok-costs", "--workspace {ws} costs", 0, None, setup=["ws"], writes=["ws.duckdb"], stdout=r"Reconciliation"),
    case("ok-costs-csv", "--workspace {ws} costs --format csv", 0, r"^currency,", setup=["ws"],
         writes=["ws.duckdb"]),
    case("ok-report", "--workspace {ws} report --out out", 0, None, setup=["ws"], writes=["out", "ws.duckdb"],
         stdout=r"out/pipeline-costs\.html"),
    case("ok-audit-list", "audit --list", 0, None, stdout=r"rule"),
    case("ok-prices-show", "prices show --region us-central1 --kind gpu", 0, None, stdout=r"sku_id"),
    case("ok-version", "--version", 0, None, stdout=r"aipipe"),
    case("ok-help", "--help", 0, None, stdout=r"Commands:"),
]

# §5 usage errors: one line `aipipe: error: ...`, exit 2, pointing at the command's --help.
USAGE_ERRORS = {
    "unknown-command": "bogus",
    "unknown-subcommand": "lineage bogus",
    "unknown-root-option": "--bogus costs",
    "unknown-option-costs": "costs --bogus",
    "unknown-option-report": "report --bogus",
    "unknown-option-sample": "sample --bogus",
    "unknown-option-audit": "audit --bogus",
    "unknown-option-estimate": "estimate --bogus",
    "unknown-option-prices": "prices show --bogus",
    "unknown-option-billing": "billing load --bogus",
    "unknown-option-snapshot": "lineage snapshot --bogus",
    "bad-choice-by": "costs --by bogus",
    "bad-choice-idle": "costs --idle bogus",
    "bad-choice-shared": "costs --shared bogus",
    "bad-choice-format": "workspace info --format xml",
    "bad-choice-fail-on": "audit --fail-on bogus",
    "bad-choice-kind": "prices show --kind bogus",
    "bad-choice-graph-format": "lineage upstream 1 --format png",
    "bad-date-since": "costs --since 2026-13-01",
    "bad-date-until": "costs --until yesterday",
    "bad-date-report": "report --since 01/02/2026",
    "bad-int-late-days": "costs --late-days -1",
    "bad-int-max-bytes": "billing load --billing x.parquet --max-bytes-billed 0",
    "bad-int-runs": "sample --runs many --days 2 --out s",
    "bad-int-max-hops": "lineage upstream 1 --max-hops 0",
    "bad-batch-size": "lineage snapshot --mlmd x.sqlite --batch-size 1",
    "missing-billing": "billing load",
    "missing-sample-runs": "sample --days 2 --out s",
    "missing-sample-out": "sample --runs 20 --days 2",
    "missing-argument-run": "lineage run",
    "missing-argument-upstream": "lineage upstream",
    "option-needs-value": "costs --by",
    "extra-argument": "costs extra",
    "flag-with-value": "costs --recompute=yes",
    "bad-page-size": "prices refresh --page-size 0",
    "sample-days-zero": "sample --runs 20 --days 0 --out s",
    "sample-days-huge": "sample --runs 20 --days 100000 --out s",
    "sample-tenants-negative": "sample --runs 20 --days 2 --tenants -1 --out s",
    "sample-tenants-huge": "sample --runs 20 --days 2 --tenants 1000000 --out s",
    "estimate-bad-format": "estimate --stack dev --format pdf",
}
for name, cmd in USAGE_ERRORS.items():
    CASES.append(case(f"usage-{name}", cmd, 2, USAGE))

CASES += [
    # A group without its command shows what it offers (stdout), and is not a success for a script.
    case("group-alone-lineage", "lineage", 2, None, stdout=r"Commands:"),
    case("group-alone-billing", "billing", 2, None, stdout=r"Commands:"),
    case("group-alone-prices", "prices", 2, None, stdout=r"Commands:"),
    case("root-alone", "", 2, None, stdout=r"Commands:"),
]

# §5/§6 values that are read as something else, or silently ignored.
CASES += [
    case("billing-empty-load", ["billing", "load", "--billing", ""], 2, ERR + r"--billing '': expected"),
    case("billing-blank-load", ["billing", "load", "--billing", " "], 2, ERR + r"--billing '': expected"),
    case("billing-empty-costs", ["--workspace", "{ws}", "costs", "--billing", ""], 2, ERR + r"--billing '': expected",
         setup=["ws"]),
    case("billing-missing-file", "--workspace {ws} billing load --billing nothing.parquet", 2, ERR + r".*nothing",
         setup=["ws"]),
    case("billing-missing-glob", ["--workspace", "{ws}", "billing", "load", "--billing", "none/*.parquet"], 2,
         ERR + r".*none", setup=["ws"]),
    case("billing-unknown-extension", "--workspace {ws} billing load --billing notes.txt", 2, ERR,
         setup=["ws", "text_file"]),
    case("billing-bad-csv", "--workspace {ws} billing load --billing bad.csv", 2, ERR + r".*bad\.csv",
         setup=["ws", "bad_csv"]),
    case("billing-bq-bad-spec", "--workspace {ws} billing load --billing bq://nodots", 2, ERR + r".*bq://",
         setup=["ws"]),
    # google-api-core's FutureWarnings must not come before the one line.
    case("billing-bq-no-credentials", "--workspace {ws} billing load --billing bq://p.d.t", 2,
         ERR + r".*(credentials|BigQuery)", setup=["ws"], check="stderr_one_line"),
    case("billing-since-after-until", "--workspace {ws} billing load --billing {parquet} --since 2026-10-02 "
         "--until 2026-10-01", 2, ERR + r".*--since .* after --until", setup=["ws", "parquet"]),
    case("costs-since-after-until", "--workspace {ws} costs --since 2026-10-02 --until 2026-10-01", 2,
         ERR + r".*--since .* after --until", setup=["ws"]),
    case("report-since-after-until", "--workspace {ws} report --out out --since 2026-10-02 --until 2026-10-01", 2,
         ERR + r".*--since .* after --until", setup=["ws"]),
    case("costs-share-namespace-without-shared", "--workspace {ws} costs --share-namespace kubeflow", 2,
         ERR + r"--share-namespace kubeflow needs --shared", setup=["ws"]),
    case("costs-share-namespace-with-shared", "--workspace {ws} costs --shared weighted --share-namespace kubeflow",
         0, None, setup=["ws"], writes=["ws.duckdb"], stdout=r"shared: weighted"),
    case("report-unknown-name", "--workspace {ws} report --report bogus --out out", 2,
         ERR + r"--report 'bogus': unknown report; expected one of pipeline-costs, lineage-audit$", setup=["ws"]),
    case("report-underscore-name-works", "--workspace {ws} report --report lineage_audit --out out --format json", 0,
         None, setup=["ws"], writes=["out", "ws.duckdb"], stdout=r"lineage-audit\.json"),
    case("report-bad-format", "--workspace {ws} report --format pdf --out out", 2, ERR + r"--format 'pdf'",
         setup=["ws"]),
    case("report-empty-format", ["--workspace", "{ws}", "report", "--format", "", "--out", "out"], 2,
         ERR + r"--format ''", setup=["ws"]),
    case("mlmd-empty", ["--workspace", "{ws}", "lineage", "snapshot", "--mlmd", ""], 2, ERR + r".*--mlmd",
         setup=["ws"]),
    # The lineage source is a required choice of the command (--mlmd or --kfp), checked by the command itself.
    case("missing-mlmd", "lineage snapshot", 2, ERR + r".*--mlmd"),
    case("mlmd-two-slashes", "--workspace {ws} lineage snapshot --mlmd sqlite://tmp/no-such.sqlite", 2,
         ERR + r"--mlmd sqlite://tmp/no-such\.sqlite: no store at tmp/no-such\.sqlite", setup=["ws"]),
    case("mlmd-missing-file", "--workspace {ws} lineage snapshot --mlmd sqlite:///no/such/store.sqlite", 2,
         ERR + r"MLMD store .*store\.sqlite does not exist", setup=["ws"]),
    case("mlmd-not-a-uri", "--workspace {ws} lineage snapshot --mlmd nothing-here", 2,
         ERR + r"--mlmd 'nothing-here' is not a store URI", setup=["ws"]),
    case("mlmd-not-sqlite", "--workspace {ws} lineage snapshot --mlmd sqlite:notes.txt", 2,
         ERR + r".*notes\.txt", setup=["ws", "text_file"]),
    case("mlmd-password-in-uri", "--workspace {ws} lineage snapshot --mlmd mysql://u:secret@localhost/metadb", 2,
         ERR + r"--mlmd mysql://u:\*\*\*@localhost/metadb: remove the password", setup=["ws"]),
    case("mlmd-mysql-no-db", "--workspace {ws} lineage snapshot --mlmd mysql://root@127.0.0.1:1", 2,
         ERR + r".*no database name", setup=["ws"]),
    case("mlmd-mysql-closed-port", "--workspace {ws} lineage snapshot --mlmd mysql://root@127.0.0.1:1/metadb", 2,
         ERR, setup=["ws"]),
    case("mlmd-grpc-closed-port", "--workspace {ws} lineage snapshot --mlmd grpc://127.0.0.1:1", 2, ERR,
         setup=["ws"]),
    case("mlmd-unknown-scheme", "--workspace {ws} lineage snapshot --mlmd ftp://x/y", 2, ERR, setup=["ws"]),
    case("mlmd-workspace-as-store", "--workspace {ws} lineage snapshot --mlmd sqlite:ws.duckdb", 2,
         ERR + r".*ws\.duckdb", setup=["ws"]),
    case("migrate-copy-out-exists", "lineage migrate-copy --mlmd {mlmd} --out mlmd.sqlite", 2,
         ERR + r"--out mlmd\.sqlite exists", setup=["mlmd"]),
    case("lineage-run-unknown", "--workspace {ws} lineage run no-such-run", 2, ERR + r".*no-such-run", setup=["ws"]),
    case("lineage-upstream-unknown", "--workspace {ws} lineage upstream gs://no/such", 2, ERR + r".*gs://no/such",
         setup=["ws"]),
    case("lineage-runs-bad-since", "--workspace {ws} lineage runs --since yesterday", 2, ERR + r".*yesterday",
         setup=["ws"]),
    case("audit-bad-stuck-after", "--workspace {ws} audit --stuck-after soon", 2, ERR + r".*soon", setup=["ws"]),
    case("audit-unknown-rule", "--workspace {ws} audit --rule bogus", 2, ERR + r".*bogus", setup=["ws"]),
    case("estimate-no-target", "estimate", 2, ERR + r"give exactly one of --stack"),
    case("estimate-both-targets", "estimate --stack dev --plan plan.json", 2, ERR + r"give exactly one of --stack"),
    case("estimate-bad-budget", "estimate --plan plan.json --budget lots", 2, ERR + r"--budget 'lots'",
         setup=["plan_json"]),
    case("estimate-negative-budget", "estimate --plan plan.json --budget -5", 2, ERR + r"--budget '-5'",
         setup=["plan_json"]),
    case("estimate-missing-plan", "estimate --plan no-plan.json", 2, ERR + r".*no-plan\.json"),
    case("estimate-plan-not-json", "estimate --plan notes.txt", 2, ERR + r".*notes\.txt", setup=["text_file"]),
    case("estimate-not-a-project", "estimate --stack nosuch --project-dir .", 2, ERR + r".*no Pulumi\.yaml"),
    case("prices-missing-book", "prices show --price-book no-book.json", 2, ERR + r".*no-book\.json"),
    case("prices-book-not-json", "prices show --price-book notes.txt", 2, ERR + r".*notes\.txt",
         setup=["text_file"]),
    case("prices-refresh-closed-port", "prices refresh --anonymous --endpoint http://127.0.0.1:1 --output pb.json",
         2, ERR + r".*127\.0\.0\.1:1", check="stderr_one_line"),
]

# §6/§8 empty results say what the workspace holds.
CASES += [
    case("costs-empty-window", "--workspace {ws} costs --since 2030-01-01", 0,
         r"^aipipe: note: no cost in usage days 2030-01-01 to …; the workspace holds usage days \d{4}-\d\d-\d\d to",
         setup=["ws"], writes=["ws.duckdb"]),
    case("costs-no-billing", "--workspace {ws} costs", 2, ERR + r"workspace ws\.duckdb holds no billing data",
         setup=["lineage_only_ws"]),
    case("lineage-runs-unknown-pipeline", "--workspace {ws} lineage runs --pipeline no-such", 0, None,
         setup=["ws"], stdout=r"\(no rows\)"),
    # A report of an unknown pipeline would be empty files that read like a pipeline that cost nothing.
    case("report-unknown-pipeline", "--workspace {ws} report --pipeline no-such --out out", 2,
         ERR + r"--pipeline 'no-such': unknown pipeline; the workspace holds \d+ pipelines?: [\w-]+(, [\w-]+)*$",
         setup=["ws"], writes=["ws.duckdb"], check="stderr_one_line"),
]

# §4 read-only places: one line naming the path.
CASES += [
    case("report-out-under-proc", "--workspace {ws} report --out /proc/aipipe-reports", 2,
         ERR + r".*/proc/aipipe-reports", setup=["ws"], writes=["ws.duckdb"]),
    case("report-out-under-sys", "--workspace {ws} report --out /sys/aipipe-reports", 2,
         ERR + r".*/sys/aipipe-reports", setup=["ws"], writes=["ws.duckdb"]),
    case("report-out-is-file", "--workspace {ws} report --out notes.txt", 2, ERR + r".*notes\.txt",
         setup=["ws", "text_file"]),
    case("report-out-immutable", "--workspace {ws} report --out locked", 2, ERR + r".*locked",
         setup=["ws", "immutable_dir"], writes=["ws.duckdb"]),
    case("report-overwrite-foreign", "--workspace {ws} report --out own", 2, ERR + r"refusing to overwrite own/",
         setup=["ws", "foreign_report"], writes=["ws.duckdb"]),
    case("sample-out-under-proc", "sample --runs 20 --days 2 --out /proc/aipipe-sample", 2,
         ERR + r".*/proc/aipipe-sample"),
    case("sample-out-under-sys", "sample --runs 20 --days 2 --out /sys/aipipe-sample", 2,
         ERR + r".*/sys/aipipe-sample"),
    case("sample-out-immutable", "sample --runs 20 --days 2 --out locked/s", 2, ERR + r".*locked",
         setup=["immutable_dir"]),
    case("sample-out-is-file", "sample --runs 20 --days 2 --out notes.txt", 2, ERR + r".*notes\.txt",
         setup=["text_file"]),
    case("sample-out-not-empty", "sample --runs 20 --days 2 --out own", 2, ERR + r"--out own: directory is not empty",
         setup=["foreign_report"]),
    case("costs-recompute-immutable-folder", "--workspace locked/ws.duckdb costs --recompute", 2,
         ERR + r".*locked/ws\.duckdb", setup=["immutable_ws"]),
    case("snapshot-immutable-folder", "--workspace locked/ws.duckdb lineage snapshot --mlmd {mlmd} --full", 2,
         ERR + r".*locked/ws\.duckdb", setup=["immutable_ws", "mlmd"]),
    case("load-new-workspace-under-proc", "--workspace /proc/aipipe/ws.duckdb billing load --billing {parquet}", 2,
         ERR + r".*/proc/aipipe", setup=["parquet"]),
    case("estimate-output-under-proc", "estimate --plan plan.json --output /proc/aipipe-estimate.md", 2,
         ERR + r".*/proc/aipipe-estimate\.md", setup=["plan_json"]),
]

# §9 sizes: the sample's size is estimated first and refused when it will not fit.
CASES += [
    case("sample-too-big", "sample --runs 100000000 --days 30 --out big", 2,
         ERR + r"--out big: the sample would take about [\d.]+ TB, more than the [\d.]+ [GTM]B free"),
    case("sample-too-big-days", "sample --runs 20 --days 3660 --tenants 10000 --out big", 2,
         ERR + r"--out big: the sample would take about"),
    case("sample-too-few-runs", "sample --runs 3 --days 2 --out s", 2, ERR + r"--runs must be at least"),
    case("sample-bad-start", "sample --runs 20 --days 2 --start 2026-02-30 --out s", 2, ERR + r".*2026-02-30"),
    case("sample-bad-format", "sample --runs 20 --days 2 --billing-format xlsx --out s", 2, ERR + r".*xlsx"),
    case("sample-ok", "sample --runs 15 --days 1 --out s --billing-format parquet", 0, None, writes=["s"],
         stdout=r"billing rows"),
]

# §7 untrusted text: label values and names print escaped, in tables and in Markdown.
CASES += [
    case("hostile-runs-table", "--workspace {ws} lineage runs", 0, None, setup=["hostile_ws"],
         stdout=r"\\u202e", check="no_raw_controls"),
    case("hostile-runs-csv", "--workspace {ws} lineage runs --format csv", 0, None, setup=["hostile_ws"],
         stdout=r"onerror"),
    case("hostile-report-md", "--workspace {ws} report --out out --format md", 0, None, setup=["hostile_ws"],
         writes=["out", "ws.duckdb"], check="markdown_escaped"),
    case("hostile-report-html", "--workspace {ws} report --out out --format html", 0, None, setup=["hostile_ws"],
         writes=["out", "ws.duckdb"], check="html_escaped"),
    case("hostile-costs-table", "--workspace {ws} costs --by run", 0, None, setup=["hostile_ws"],
         writes=["ws.duckdb"], check="no_raw_controls"),
    # §8 a table written to a file is never wrapped: every row is one line.
    case("table-not-wrapped-in-pipe", "--workspace {ws} lineage runs", 0, None, setup=["long_uri_ws"],
         check="no_wrap"),
]
