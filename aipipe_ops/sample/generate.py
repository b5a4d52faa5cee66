"""generate_fleet: the whole sample in one call, with the two writers running side by side.

Order of work: decide the fleet (fleet.py), place its pods on node VMs (placement.py), start the MLMD store
writer in a child process (mlmd_writer.py, under libfaketime when present), stream the billing export in this
process meanwhile (billing_export.py), then join the two into ground_truth.json and fleet.json and rename the
staging directory into place (output_dir.py).
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import aipipe_ops.sample.cluster as C
import aipipe_ops.sample.output_dir as output_dir
from aipipe_ops import __version__
from aipipe_ops.errors import AipipeError, ConfigError
from aipipe_ops.progress import progress_bar
from aipipe_ops.sample.billing_export import FORMATS, write_billing_export
from aipipe_ops.sample.billing_rows import BillingPricer
from aipipe_ops.sample.step_labels import StepLabels
from aipipe_ops.sample.defaults import DEFAULT_START, DEFAULT_TENANTS
from aipipe_ops.sample.fake_clock import child_environment, find_libfaketime, scratch_dir
from aipipe_ops.sample.fleet import build_fleet, check_days
from aipipe_ops.sample.ground_truth import build_ground_truth, iso, write_ground_truth
from aipipe_ops.sample.ground_truth_allocation import AllocationLedger
from aipipe_ops.sample.hourly_usage import PodTable, VmTable
from aipipe_ops.sample.kfp_api_responses import pipeline_spec, write_kfp_api_responses
from aipipe_ops.sample.mlmd_ops import build_store_plan
from aipipe_ops.sample.pipelines import PIPELINES
from aipipe_ops.sample.placement import place_pods
from aipipe_ops.sample.tenants import tenant_pods, tenant_workloads



@dataclass
class FleetSummary:
    out: Path
    summary: dict


def _start_epoch(start: date | str) -> int:
    if isinstance(start, str):
        try:
            start = date.fromisoformat(start)
        except ValueError:
            raise ConfigError(f"--start {start!r}: expected a date YYYY-MM-DD") from None
    return int(datetime(start.year, start.month, start.day, tzinfo=timezone.utc).timestamp())


def parse_formats(text: str | tuple[str, ...]) -> tuple[str, ...]:
    items = [t.strip() for t in (text.split(",") if isinstance(text, str) else text) if t.strip()]
    bad = [t for t in items if t not in FORMATS]
    if bad or not items:
        raise ConfigError(f"--billing-format {','.join(items) or text!r}: expected a comma-separated subset of "
                          f"{','.join(FORMATS)}")
    return tuple(f for f in FORMATS if f in items)


class _StoreWriterProcess:
    """The MLMD writer child: started early, read for progress on a thread, joined at the end."""

    def __init__(self, plan, workdir: Path, on_progress):
        self.scratch = Path(scratch_dir() or workdir) / f"aipipe-sample-{os.getpid()}-{id(self):x}"
        self.scratch.mkdir(parents=True, exist_ok=True)
        self.plan_path = self.scratch / "store-plan.pickle"
        self.store_path = self.scratch / "mlmd.sqlite"
        self.ids_path = self.scratch / "ids.json"
        with open(self.plan_path, "wb") as handle:
            pickle.dump(plan, handle, protocol=pickle.HIGHEST_PROTOCOL)
        library = find_libfaketime()
        self.clock = "libfaketime" if library else "wall"
        env = None
        if library:
            first = plan.ops[0].time if plan.ops else 0
            env = child_environment(library, self.scratch / "faketime.txt", first)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "aipipe_ops.sample.mlmd_writer", str(self.plan_path), str(self.store_path),
             str(self.ids_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.stderr = ""
        self._out = threading.Thread(target=self._read, args=(on_progress,), daemon=True)
        self._err = threading.Thread(target=self._read_err, daemon=True)
        self._out.start()
        self._err.start()

    def _read(self, on_progress) -> None:
        for line in self.proc.stdout:
            if line.startswith("progress "):
                on_progress(int(line.split()[1]))

    def _read_err(self) -> None:
        self.stderr = self.proc.stderr.read()

    def join(self, target: Path) -> dict:
        code = self.proc.wait()
        self._out.join()
        self._err.join()
        if code != 0:
            tail = " | ".join(self.stderr.strip().splitlines()[-3:])
            raise AipipeError(f"the MLMD store writer failed (exit {code}): {tail}")
        ids = json.loads(self.ids_path.read_text())
        shutil.move(str(self.store_path), str(target))
        return ids

    def cleanup(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.scratch, ignore_errors=True)


def generate_fleet(out: str | Path, runs: int, days: int, seed: int, start: date | str = DEFAULT_START,
                   billing_formats: str | tuple[str, ...] = FORMATS, tenants: int = DEFAULT_TENANTS,
                   force: bool = False, progress: bool | None = None, size_check: bool = True) -> FleetSummary:
    """Write a sample fleet into `out` (see docs/sample-fleet.md); return its summary (fleet.json)."""
    out = Path(out)
    formats = parse_formats(billing_formats)
    t0 = _start_epoch(start)
    check_days(days)  # also checked by build_fleet; here so that it is reported before --tenants and --out
    if tenants < 0:
        raise ConfigError(f"--tenants must be 0 or more; got {tenants}")
    output_dir.check_target(out, force)
    if size_check:
        output_dir.check_room(out, output_dir.estimate_bytes(runs, days, tenants, formats))
    fleet = build_fleet(runs, days, seed, t0)
    steps = list(fleet.steps())
    pods = list(fleet.pods())
    workloads = tenant_workloads(tenants, seed)
    other_pods = tenant_pods(workloads, fleet.start, fleet.end, seed)
    vms = place_pods(pods + other_pods, fleet.start, fleet.end)
    run_index = {r.key: i for i, r in enumerate(fleet.runs)}
    step_index = {s.key: i for i, s in enumerate(steps)}
    store_plan = build_store_plan(fleet)
    tmp = output_dir.staging_dir(out)
    writer = None
    try:
        with progress_bar(progress) as bar:
            billing_task = bar.add_task("billing export (days)", total=days)
            store_task = bar.add_task("MLMD store (calls)", total=len(store_plan.ops))
            writer = _StoreWriterProcess(store_plan, tmp, lambda n: bar.update(store_task, completed=n))
            vm_table = VmTable.build(vms)
            pricer = BillingPricer(fleet.runs, vm_table, len(steps), seed, (fleet.start, fleet.end), workloads)
            pricer.step_labels = StepLabels.for_fleet(fleet.runs, step_index, (fleet.start, fleet.end), seed)
            pricer.truth.ledger = AllocationLedger(pricer.tables, fleet.runs, workloads)
            stats = write_billing_export(tmp / "billing", pricer, PodTable.build(pods, run_index, step_index),
                                         vm_table, fleet.start, fleet.end, formats,
                                         tenants=PodTable.for_tenants(other_pods) if other_pods else None,
                                         on_day=lambda d, n: bar.update(billing_task, completed=d + 1))
            ids = writer.join(tmp / "mlmd.sqlite")
        # The KFP v2 runs again as the KFP REST API serves them (both generations), read back from the store.
        kfp_api = write_kfp_api_responses(tmp / "mlmd.sqlite", tmp, {r.key: pipeline_spec(r) for r in fleet.runs
                                                                     if r.orchestrator == "kfp-v2"})
        truth = build_ground_truth(fleet, vms, pricer.truth, ids, step_index, stats.rows, workloads)
        truth["step_labels"] = pricer.step_labels.describe()
        write_ground_truth(tmp / "ground_truth.json", truth)
        summary = {
            "generator": f"aipipe {__version__} sample",
            "seed": seed,
            "runs": runs,
            "days": days,
            "tenants": tenants,
            "window": {"start": iso(fleet.start), "end": iso(fleet.end)},
            "currency": C.CURRENCY,
            "billing_account_id": C.BILLING_ACCOUNT,
            "project": C.PROJECT_ID,
            "cluster": {"name": C.CLUSTER, "location": C.CLUSTER_LOCATION,
                        "node_pools": {n: {"machine_type": p.machine.name, "spot": p.spot, "min_nodes": p.min_nodes}
                                       for n, p in C.NODE_POOLS.items()}},
            "dev_cluster": {"name": C.DEV_CLUSTER, "location": C.DEV_CLUSTER_LOCATION},
            "pipelines": {name: {"orchestrator": spec.orchestrator, "namespace": spec.namespace,
                                 "runs": truth["counts"]["runs_by_pipeline"].get(name, 0)}
                          for name, spec in PIPELINES.items()},
            "counts": truth["counts"],
            "export_total": truth["export_total"],
            "billing": {"formats": list(formats), "files": [f"billing/{f}" for f in stats.files],
                        "rows": stats.rows, "row_groups_per_parquet_file": "one per day, plus the closing rows",
                        "table": f"gcp_billing_export_resource_v1_{C.BILLING_ACCOUNT.replace('-', '_')}"},
            "mlmd": {"path": "mlmd.sqlite", "schema_version": 10, "clock": writer.clock},
            "kfp_api": {"path": kfp_api.relative_to(tmp).as_posix(), "generations": ["task_details", "native"]},
        }
        (tmp / "fleet.json").write_text(json.dumps(summary, indent=1) + "\n")
        output_dir.publish(tmp, out, force)
    except BaseException:
        output_dir.discard(tmp)
        raise
    finally:
        if writer is not None:
            writer.cleanup()
    return FleetSummary(out, summary)
