"""The sample fleet's allocation truth against `aipipe costs`, under every --idle x --shared x --commitments policy
(issue 14): each run's direct, idle and overhead parts, each pipeline's, other workload's and namespace's total,
idle per node pool, the unused commitment and every bucket, to the cent.

The truth (ground_truth.json `allocation`) is the generator's own computation from what it knows each export row is
(aipipe_ops/sample/ground_truth_allocation.py, exact rationals), not the engine's SQL; the engine splits to the
nano-unit, so the two agree to far below a cent, and a cent is the tolerance. The commitment fee rows are checked
against the usage their credits covered straight from the export files.
"""

from __future__ import annotations

import itertools
import json
from decimal import Decimal

import duckdb
import pytest
from conftest import write_sample

POLICIES = list(itertools.product(("separate", "share"), ("separate", "weighted", "even"), ("amortize", "separate")))
CENT = Decimal("0.005")  # |engine - truth| below half a cent: equal to the cent
NO_NAMESPACE = "(none)"  # ground_truth.json's key for lines without a namespace


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    return write_sample(tmp_path_factory, formats="parquet")


def _key(idle: str, shared: str, commitments: str) -> str:
    return f"idle={idle},shared={shared},commitments={commitments}"


def _costs(run_cli, path, by: str, idle: str, shared: str, commitments: str) -> dict:
    code, out, err = run_cli("--workspace", path, "costs", "--by", by, "--idle", idle, "--shared", shared,
                             "--commitments", commitments, "--format", "json")
    assert code == 0, err
    return json.loads(out)


def _run_parts(entry: dict, idle: str, shared: str, commitments: str) -> dict[str, Decimal]:
    """A run's truth by bucket under one policy (ground_truth.json keeps each bucket under the policies it
    depends on)."""
    a = entry["allocation"]
    return {"direct": Decimal(a["direct"][commitments]),
            "idle_share": Decimal(a["idle_share"][commitments]) if idle == "share" else Decimal(0),
            "overhead_share": Decimal(a["overhead_share"][shared][commitments]) if shared != "separate" else Decimal(0)}


def _differences(what: str, got: dict, expected: dict) -> list[str]:
    """Keys whose amounts differ by half a cent or more (a key missing on one side counts as zero)."""
    out = []
    for key in sorted(set(got) | set(expected), key=str):
        g, e = Decimal(got.get(key, 0)), Decimal(expected.get(key, 0))
        if abs(g - e) >= CENT:
            out.append(f"{what} {key}: engine {g} truth {e} (difference {g - e})")
    return out


def _summed(rows, key, cls=None) -> dict:
    out: dict = {}
    for r in rows:
        if cls is None or r["class"] == cls:
            k = r[key] if r[key] is not None else NO_NAMESPACE
            out[k] = out.get(k, Decimal(0)) + Decimal(r["total"])
    return out


@pytest.mark.parametrize("idle,shared,commitments", POLICIES, ids=[_key(*p) for p in POLICIES])
def test_costs_are_the_generators_truth(loaded, run_cli, idle, shared, commitments):
    path, truth = loaded
    expected = truth["allocation"]["policies"][_key(idle, shared, commitments)]
    problems = []

    by_run = _costs(run_cli, path, "run", idle, shared, commitments)
    runs = {r["run_id"]: r for r in by_run["rows"] if r["class"] == "run"}
    assert set(runs) <= set(truth["runs"])
    for bucket in ("direct", "idle_share", "overhead_share", "total"):
        want = {run_id: (sum(_run_parts(e, idle, shared, commitments).values()) if bucket == "total"
                         else _run_parts(e, idle, shared, commitments)[bucket]) for run_id, e in truth["runs"].items()}
        problems += _differences(f"run {bucket}", {k: r[bucket] for k, r in runs.items()}, want)
    problems += _differences("idle of node pool", _summed(by_run["rows"], "node_pool", "idle"),
                             expected["idle_by_node_pool"])

    [rec] = by_run["reconciliation"]
    assert rec["status"] == "ok"
    assert Decimal(rec["export_net_total"]) == Decimal(rec["buckets_total"]) == \
        Decimal(truth["allocation"]["export_total"]) == Decimal(truth["export_total"]["USD"])
    problems += _differences("bucket", {b: rec.get(b, 0) for b in expected["buckets"]}, expected["buckets"])
    assert Decimal(rec["shared"]) == 0  # no --share-namespace

    by_namespace = _costs(run_cli, path, "namespace", idle, shared, commitments)
    problems += _differences("namespace", _summed(by_namespace["rows"], "namespace"), expected["namespaces"])

    by_workload = _costs(run_cli, path, "workload", idle, shared, commitments)
    problems += _differences("pipeline", _summed(by_workload["rows"], "workload", "pipeline"), expected["pipelines"])
    problems += _differences("workload", _summed(by_workload["rows"], "workload", "workload"), expected["workloads"])
    assert not problems, "\n".join(problems)


def test_unused_commitment_is_the_generators(loaded, run_cli):
    path, truth = loaded
    for idle, shared, commitments in (("share", "weighted", "amortize"), ("separate", "separate", "separate")):
        expected = truth["allocation"]["policies"][_key(idle, shared, commitments)]
        [rec] = _costs(run_cli, path, "kind", idle, shared, commitments)["reconciliation"]
        assert abs(Decimal(rec["unused_commitment"]) - Decimal(expected["unused_commitment"])) < CENT
        if commitments == "separate":  # the fees, whole
            assert Decimal(rec["unused_commitment"]) == 0
            assert Decimal(rec["commitment"]) == Decimal(expected["buckets"]["commitment"]) > 0


def test_truth_adds_up_under_every_policy(fleet):
    """The truth on its own: its buckets, and its runs + other workloads + what stays in its buckets, are the export's
    total; its pipelines are its runs; namespaces cover every cent; each run's total is its buckets' sum."""
    _, truth = fleet
    allocation = truth["allocation"]
    total = Decimal(allocation["export_total"])
    nano = Decimal("0.000000001")
    for idle, shared, commitments in POLICIES:
        p = allocation["policies"][_key(idle, shared, commitments)]
        buckets = {k: Decimal(v) for k, v in p["buckets"].items()}
        n = len(buckets) + len(p["namespaces"]) + len(truth["runs"]) + len(p["workloads"])  # rounding: a nano each
        assert abs(sum(buckets.values()) - total) <= n * nano
        runs = sum(sum(_run_parts(e, idle, shared, commitments).values()) for e in truth["runs"].values())
        assert abs(runs - sum(Decimal(v) for v in p["pipelines"].values())) <= n * nano
        workloads = runs + sum(Decimal(v) for v in p["workloads"].values())
        assert abs(workloads - (buckets["direct"] + buckets["idle_share"] + buckets["overhead_share"])) <= n * nano
        assert abs(sum(Decimal(v) for v in p["namespaces"].values()) - total) <= n * nano
        assert abs(sum(Decimal(v) for v in p["idle_by_node_pool"].values()) - buckets["idle"]) <= n * nano
        if idle == "separate":
            assert buckets["idle_share"] == 0
        if shared == "separate":
            assert buckets["overhead_share"] == 0
        if commitments == "separate":
            assert buckets["unused_commitment"] == 0 and buckets["commitment"] > 0
        else:
            assert buckets["commitment"] == 0 and 0 <= buckets["unused_commitment"]
    # Amortising moves the fees onto the usage they covered, and nothing else: the same export total, more direct
    # and idle cost, no commitment bucket.
    sep = allocation["policies"][_key("separate", "separate", "separate")]["buckets"]
    amo = allocation["policies"][_key("separate", "separate", "amortize")]["buckets"]
    moved = sum(Decimal(amo[b]) - Decimal(sep[b]) for b in ("direct", "idle", "overhead", "unused_commitment"))
    assert abs(moved - Decimal(sep["commitment"])) <= 10 * nano


def test_commitment_fees_match_the_usage_their_credits_cover(fleet):
    """Straight from the export files: in every hour, each commitment fee's committed units (usage.amount, in the
    unit of the usage it covers) hold the units its COMMITTED_USAGE_DISCOUNT credits covered (usage.amount x
    |credit| / cost), in the same region and of the same resource, and no usage is covered in an hour without its
    fee. The sample commits one a2-highgpu-1g: A2 cores, A2 RAM and one A100. Credits are rounded to the
    micro-dollar, so a row's covered units are exact to usage.amount x 0.0000005 / cost (`slack`)."""
    out, _ = fleet
    con = duckdb.connect()
    kind = """CASE WHEN lower(sku.description) LIKE '%a100%' THEN 'gpu'
                   WHEN lower(sku.description) LIKE '%a2 cpu%' OR lower(sku.description) LIKE '%a2 instance core%'
                        THEN 'cpu'
                   WHEN lower(sku.description) LIKE '%a2 ram%' OR lower(sku.description) LIKE '%a2 instance ram%'
                        THEN 'ram' END"""
    rows = con.execute(f"""
        WITH r AS (
            SELECT usage_start_time AS hour, location.region AS region, {kind} AS kind, usage.unit AS unit,
                   starts_with(sku.description, 'Commitment v1:') AS fee, usage.amount AS amount, cost,
                   list_sum([c.amount FOR c IN credits IF c.type = 'COMMITTED_USAGE_DISCOUNT']) AS cud
            FROM read_parquet('{out}/billing/*.parquet'))
        SELECT hour, region, kind, list_distinct(list(unit)) AS units,
               sum(CASE WHEN fee THEN amount END) AS committed,
               coalesce(sum(CASE WHEN NOT fee AND cud < 0 THEN amount * -cud / cost END), 0) AS covered,
               coalesce(sum(CASE WHEN NOT fee AND cud < 0 THEN amount * 0.0000005 / cost END), 0) AS slack
        FROM r WHERE fee OR cud < 0 GROUP BY ALL
    """).fetchall()
    assert {r[2] for r in rows} == {"cpu", "ram", "gpu"}
    for hour, region, k, units, committed, covered, slack in rows:
        assert committed, f"{k} usage covered at {hour} in {region} without a commitment fee"
        assert len(units) == 1, f"{k} at {hour}: the fee and the covered usage are in different units {units}"
        assert covered <= committed * (1 + 1e-12) + slack, f"{k} at {hour}: {covered} units covered of {committed}"
