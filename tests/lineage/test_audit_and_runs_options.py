"""`aipipe audit` on a workspace without lineage, its new options, and `lineage runs --state` validation."""

from .builders import runs_in_every_state
from .scenarios import kfp_v2_release


def test_audit_of_a_workspace_without_lineage_is_an_error(run_cli, tmp_path):
    from aipipe_ops.workspace import Workspace

    Workspace.open(tmp_path / "workspace.duckdb").close()     # exists, holds no lineage (e.g. billing only)
    code, out, err = run_cli("audit")
    assert code == 2 and "holds no lineage" in err and "aipipe lineage snapshot --mlmd" in err and "--kfp" in err
    assert run_cli("audit", "--list")[0] == 0           # listing the rules needs no lineage


def test_audit_options_reach_the_rules(builder, store_path, run_cli):
    kfp_v2_release(builder, "run-elsewhere", data_uri="gs://scratch/x.csv")
    assert run_cli("lineage", "snapshot", "--mlmd", f"sqlite://{store_path}")[0] == 0
    code, out, _ = run_cli("audit", "--rule", "unapproved-data-source", "--fail-on", "warning")
    assert code == 0
    code, out, _ = run_cli("audit", "--rule", "unapproved-data-source", "--allowed-data", "gs://acme/",
                           "--allowed-data", "gs://other/", "--fail-on", "warning")
    assert code == 1 and "gs://scratch/x.csv" in out


def test_runs_state_accepts_only_known_states_in_any_case(builder, store_path, run_cli):
    runs_in_every_state(builder)
    assert run_cli("lineage", "snapshot", "--mlmd", f"sqlite://{store_path}")[0] == 0
    code, out, _ = run_cli("lineage", "runs", "--state", "failed", "--format", "csv")
    assert code == 0 and "run-failed" in out and "run-ok" not in out
    code, _, err = run_cli("lineage", "runs", "--state", "DONE")
    assert code == 2 and "succeeded" in err.lower() and "DONE" in err
