from decimal import Decimal

import duckdb
import pytest

from aipipe_ops.errors import WorkspaceError
from aipipe_ops.workspace import CURRENT_VERSION, MIGRATIONS, Migration, Workspace, resolve_workspace_path

CONTRACT_TABLES = {
    "runs", "steps", "artifacts", "events", "cost_lines", "run_costs", "step_costs", "pipeline_costs",
    "model_costs", "prices", "estimate_lines",
}


def test_new_workspace_holds_the_contract_tables(tmp_path):
    with Workspace.open(tmp_path / "w.duckdb") as ws:
        assert CONTRACT_TABLES <= set(ws.table_names())
        assert ws.schema_version == CURRENT_VERSION
        columns = [r[0] for r in ws.con.execute("DESCRIBE cost_lines").fetchall()]
        assert columns[:4] == ["usage_start", "usage_day", "invoice_month", "project"]
        assert {"net_cost", "currency", "resource_kind", "run_id"} <= set(columns)


def test_money_columns_are_exact_decimals(tmp_path):
    with Workspace.open(tmp_path / "w.duckdb") as ws:
        ws.con.execute("INSERT INTO run_costs (run_id, cost, currency) SELECT 'r', 0.1, 'USD' FROM range(10)")
        total = ws.con.execute("SELECT sum(cost) FROM run_costs").fetchone()[0]
        assert total == Decimal("1.000000000")


def test_path_resolution_order(monkeypatch, tmp_path):
    monkeypatch.setenv("AIPIPE_WORKSPACE", str(tmp_path / "env.duckdb"))
    assert resolve_workspace_path("cli.duckdb").name == "cli.duckdb"
    assert resolve_workspace_path(None).name == "env.duckdb"
    monkeypatch.delenv("AIPIPE_WORKSPACE")
    assert str(resolve_workspace_path(None)) == ".aipipe/workspace.duckdb"


def test_newer_workspace_is_refused(tmp_path):
    path = tmp_path / "w.duckdb"
    Workspace.open(path).close()
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO aipipe_schema (version, description, written_by) VALUES (?, 'future', '9.9.9')",
                [CURRENT_VERSION + 5])
    con.close()
    with pytest.raises(WorkspaceError, match=rf"schema version {CURRENT_VERSION + 5} .*9\.9\.9.*upgrade aipipe"):
        Workspace.open(path)


def test_older_workspace_is_migrated(tmp_path):
    path = tmp_path / "w.duckdb"
    Workspace.open(path).close()
    extra = Migration(CURRENT_VERSION + 1, "add a column",
                      lambda con: con.execute("ALTER TABLE runs ADD COLUMN experiment VARCHAR"))
    with Workspace.open(path, migrations=MIGRATIONS + [extra]) as ws:
        assert ws.schema_version == CURRENT_VERSION + 1
        assert "experiment" in [r[0] for r in ws.con.execute("DESCRIBE runs").fetchall()]


def test_failed_migration_leaves_workspace_untouched(tmp_path):
    path = tmp_path / "w.duckdb"
    with Workspace.open(path) as ws:
        ws.con.execute("INSERT INTO runs (run_id, pipeline) VALUES ('r1', 'p')")

    def half_then_fail(con):
        con.execute("ALTER TABLE runs ADD COLUMN experiment VARCHAR")
        con.execute("DROP TABLE events")
        raise RuntimeError("disk on fire")

    broken = Migration(CURRENT_VERSION + 1, "broken", half_then_fail)
    with pytest.raises(WorkspaceError, match="left unchanged"):
        Workspace.open(path, migrations=MIGRATIONS + [broken])
    with Workspace.open(path) as ws:
        assert ws.schema_version == CURRENT_VERSION
        assert "events" in ws.table_names()
        assert "experiment" not in [r[0] for r in ws.con.execute("DESCRIBE runs").fetchall()]
        assert ws.con.execute("SELECT run_id FROM runs").fetchall() == [("r1",)]


def test_foreign_duckdb_file_is_not_adopted(tmp_path):
    path = tmp_path / "other.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE invoices (x INT)")
    con.close()
    with pytest.raises(WorkspaceError, match="not an aipipe workspace"):
        Workspace.open(path)


def test_not_a_database_file(tmp_path):
    path = tmp_path / "notes.duckdb"
    path.write_text("hello")
    with pytest.raises(WorkspaceError, match="notes.duckdb"):
        Workspace.open(path)


def test_read_only_open_of_missing_workspace(tmp_path):
    with pytest.raises(WorkspaceError, match="does not exist"):
        Workspace.open(tmp_path / "missing.duckdb", read_only=True)


def test_transaction_rolls_back(tmp_path):
    with Workspace.open(tmp_path / "w.duckdb") as ws:
        with pytest.raises(ZeroDivisionError):
            with ws.transaction() as con:
                con.execute("INSERT INTO runs (run_id) VALUES ('r1')")
                1 / 0
        assert ws.count("runs") == 0
