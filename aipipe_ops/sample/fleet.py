"""The run schedule and every run's realisation: the single source of truth both writers read.

`build_fleet` decides, from the seed alone, which runs happen when, what each step does (COMPLETE, FAILED,
CACHED, stuck RUNNING, CANCELED), which artifacts it reads and writes, and which pods it starts on which node
pool. Nothing here touches MLMD or billing files.

Scenarios the fleet always contains (given --runs >= MIN_RUNS): for taxi-tfx a blessed-and-pushed run, a run
whose ExampleValidator finds anomalies, a failed run (Trainer OOM) followed by a retry whose upstream
components are cache hits, an unblessed model (no Pusher execution: the Pusher is guarded by a Cond), and a
"hotfix" run whose Pusher has no blessing input; for llm-finetune a registered model, a failed finetune and its
retry (prepare-data CACHED), a model below the evaluation threshold (condition DAG CANCELED), and a run stuck
RUNNING; penguin-tfx-v2 has a blessed run and an unblessed one (Pusher CANCELED).
"""

from __future__ import annotations

import bisect
import hashlib
import heapq
import json
import random
import string
import time
import uuid
from dataclasses import dataclass

from aipipe_ops.errors import ConfigError
from aipipe_ops.sample import pipelines as P
from aipipe_ops.sample.plan import ArtifactPlan, ContextPlan, Fleet, Pod, Ref, RunPlan, StepPlan

DAY = 86400
KFP_STORE_SESSION = json.dumps({"Provider": "gs", "Params": {"fromEnv": "true"}}, separators=(",", ":"))
TFX_PIPELINE_ROOT = "gs://acme-ml-prod-tfx/pipelines"
SERVING_ROOT = "gs://acme-ml-prod-serving"

# Scenario minimums (forced, in this order) and the mix of later runs. "fail" is always followed by "retry".
FORCED = {
    "taxi-tfx": ["ok", "anomalies", "fail", "retry", "unblessed", "hotfix"],
    "llm-finetune": ["ok", "fail", "retry", "below_threshold", "stuck"],
    "tpu-pretrain": ["ok"],
    "nightly-scoring": ["ok"],
    "penguin-tfx-v2": ["ok", "unblessed"],
}
MIX = {
    "taxi-tfx": [("ok", 0.78), ("anomalies", 0.07), ("unblessed", 0.08), ("fail", 0.05), ("hotfix", 0.02)],
    "llm-finetune": [("ok", 0.72), ("below_threshold", 0.15), ("fail", 0.11), ("stuck", 0.02)],
    "tpu-pretrain": [("ok", 0.9), ("fail", 0.1)],
    "nightly-scoring": [("ok", 0.96), ("fail", 0.04)],
    "penguin-tfx-v2": [("ok", 0.85), ("unblessed", 0.15)],
}
# Typical wall time of a run, used to keep scheduled starts inside the window.
TYPICAL_HOURS = {"taxi-tfx": 5, "llm-finetune": 6, "tpu-pretrain": 20, "nightly-scoring": 1.5, "penguin-tfx-v2": 1.2}


@dataclass(order=True)
class _Pending:
    start: int
    seq: int
    pipeline: str = ""
    scenario: str = ""
    trigger: str = ""
    retry_of: RunPlan | None = None


def run_counts(total: int) -> dict[str, int]:
    """Split --runs over the pipelines: every scenario minimum first, the rest by weight (largest remainder)."""
    if total < P.MIN_RUNS:
        raise ConfigError(f"--runs must be at least {P.MIN_RUNS} (one run per scenario the fleet promises); "
                          f"got {total}")
    counts = {name: spec.min_runs for name, spec in P.PIPELINES.items()}
    rest = total - P.MIN_RUNS
    weights = {name: spec.weight for name, spec in P.PIPELINES.items()}
    wsum = sum(weights.values())
    shares = {name: rest * w / wsum for name, w in weights.items()}
    floors = {name: int(s) for name, s in shares.items()}
    left = rest - sum(floors.values())
    for name in sorted(shares, key=lambda n: (-(shares[n] - floors[n]), n))[:left]:
        floors[name] += 1
    return {name: counts[name] + floors[name] for name in counts}


def check_days(days: int) -> None:
    if days < 1:
        raise ConfigError(f"--days must be at least 1; got {days}")


class FleetBuilder:
    def __init__(self, runs: int, days: int, seed: int, start: int):
        check_days(days)
        self.total_runs = runs
        self.days = days
        self.seed = seed
        self.start = start
        self.end = start + days * DAY
        self.rng = random.Random(f"aipipe-sample:{seed}")
        self.runs: list[RunPlan] = []
        self.artifacts: dict[str, ArtifactPlan] = {}
        self.contexts: dict[str, ContextPlan] = {}
        self.pushed_taxi_models: list[tuple[int, str]] = []  # (push time, PushedModel artifact key)
        self._seq = 0

    # ---- identifiers -------------------------------------------------------------------------------------
    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _suffix(self) -> str:
        return "".join(self.rng.choices(string.ascii_lowercase + string.digits, k=5))

    def _node_hash(self) -> str:
        return str(self.rng.randrange(10 ** 9, 10 ** 10))

    def _minutes(self, lo_hi: tuple[float, float]) -> int:
        lo, hi = lo_hi
        return int(self.rng.uniform(lo, hi) * 60)

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    # ---- schedule ----------------------------------------------------------------------------------------
    def _scenarios(self, pipeline: str, count: int) -> list[str]:
        chosen = list(FORCED[pipeline][:count])
        names, weights = zip(*MIX[pipeline])
        while len(chosen) < count:
            pick = self.rng.choices(names, weights)[0]
            if pick == "fail":
                if len(chosen) <= count - 2:
                    chosen += ["fail", "retry"]
                continue
            chosen.append(pick)
        return chosen

    def _base_times(self, spec: P.PipelineSpec, count: int) -> list[int]:
        """Start times of the runs that are not retries."""
        earliest = self.start
        if spec.name == "nightly-scoring":  # scoring reads a model the first taxi-tfx run has to push
            earliest = self.start + min(12 * 3600, (self.end - self.start) // 3)
        latest = max(earliest, self.end - int(TYPICAL_HOURS[spec.name] * 3600))
        span = latest - earliest
        times = []
        if spec.schedule_hour is None:  # ad-hoc: working hours in the US (UTC 14:00-24:00)
            for _ in range(count):
                day = self.rng.randrange(max(1, span // DAY + 1))
                t = earliest + day * DAY + int(self.rng.uniform(14, 23.9) * 3600)
                times.append(min(max(t, earliest), latest))
            return sorted(times)
        period = span / count if count else span
        for i in range(count):
            t = earliest + int(i * period)
            if period >= DAY:  # at most one a day: snap to the schedule's hour
                day_start = t - (t - self.start) % DAY
                t = day_start + int(spec.schedule_hour * 3600)
                if t < earliest:
                    t += DAY
            t += self.rng.randrange(0, 90)  # the scheduled-workflow controller starts within seconds
            times.append(min(t, max(latest, earliest)))
        return sorted(times)

    def build(self) -> Fleet:
        heap: list[_Pending] = []
        pending_retries: dict[str, int] = {}
        for name, count in run_counts(self.total_runs).items():
            spec = P.PIPELINES[name]
            scenarios = self._scenarios(name, count)
            base = [s for s in scenarios if s != "retry"]
            pending_retries[name] = len(scenarios) - len(base)
            for t, scenario in zip(self._base_times(spec, len(base)), base):
                trigger = "schedule" if spec.schedule_hour is not None else "manual"
                if scenario == "hotfix":  # somebody pushes a model by hand, hours after the nightly run
                    trigger, t = "manual", min(t + self.rng.randrange(3 * 3600, 9 * 3600), self.end - 3600)
                heapq.heappush(heap, _Pending(t, self._next(), name, scenario, trigger))
        while heap:
            item = heapq.heappop(heap)
            run = self._realise(item)
            self.runs.append(run)
            if item.scenario == "fail" and pending_retries[item.pipeline] > 0:
                pending_retries[item.pipeline] -= 1
                retry_at = run.finished + self.rng.randrange(20 * 60, 90 * 60)
                heapq.heappush(heap, _Pending(retry_at, self._next(), item.pipeline, "retry", "retry", run))
        self.runs.sort(key=lambda r: (r.created, r.key))
        return Fleet(self.seed, self.start, self.end, self.runs, self.artifacts, self.contexts)

    def _realise(self, item: _Pending) -> RunPlan:
        spec = P.PIPELINES[item.pipeline]
        if spec.orchestrator == "tfx":
            return TfxRunBuilder(self, spec, item).build()
        return KfpRunBuilder(self, spec, item).build()

    # ---- shared helpers ----------------------------------------------------------------------------------
    def context(self, key: str, type_name: str, name: str, created: int, custom=None, parent=None) -> str:
        if key not in self.contexts:
            self.contexts[key] = ContextPlan(key, type_name, name, created, dict(custom or {}), parent)
        return key

    def latest_pushed_taxi_model(self, before: int) -> str | None:
        i = bisect.bisect_left(self.pushed_taxi_models, (before, ""))
        return self.pushed_taxi_models[i - 1][1] if i else None


def _fingerprint(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def run_state(steps: list[StepPlan]) -> str:
    """A run's state as its tasks tell it (the KFP v2 root DAG stays RUNNING, lineage.md §3.3)."""
    work = [s for s in steps if s.kind != "dag"]
    if any(s.state == "FAILED" for s in work):
        return "FAILED"
    if any(s.state == "RUNNING" for s in work):
        return "RUNNING"
    return "COMPLETE"


class _RunBuilder:
    RUN_LABELS: tuple[tuple[str, str], ...] = ()  # pod labels of the run beyond the KFP run id and Argo workflow

    def __init__(self, fleet: FleetBuilder, spec: P.PipelineSpec, item: _Pending):
        self.f = fleet
        self.rng = fleet.rng
        self.spec = spec
        self.item = item
        self.kfp_run_uuid = fleet._uuid()
        self.workflow = f"{spec.name}-{fleet._suffix()}"
        self.steps: dict[str, StepPlan] = {}
        self.ends: dict[str, int] = {}
        self.original: dict[str, StepPlan] = {}
        if item.retry_of is not None:  # the retry re-uses what the failed run completed
            self.original = {s.step: s for s in item.retry_of.steps if s.state in ("COMPLETE", "CACHED")}

    def pod(self, step_key: str, name: str, spec_step: P.StepSpec | None, start: int, end: int,
            driver: bool = False) -> Pod:
        if driver or spec_step is None:
            pool, cpu, mem, gpus, tpus, egress = "cpu-pool", P.DRIVER_CPU_M, P.DRIVER_MEMORY_MIB, 0, 0, 0
        else:
            pool, cpu, mem = spec_step.pool, spec_step.cpu_m, spec_step.memory_mib
            gpus, tpus = spec_step.gpus, spec_step.tpu_chips
            egress = spec_step.egress_mib_per_min * (1 << 20) * max(end - start, 0) // 60
        return Pod(name, pool, cpu, mem, gpus, tpus, start, end, step_key, self.run_key, egress)

    def ready_time(self, deps, default: int) -> int:
        return max([self.ends[d] for d in deps if d in self.ends] + [default]) + self.rng.randrange(2, 12)

    def _producer_inputs(self, s: P.StepSpec) -> list[tuple[str, str]]:
        """The step's inputs from the outputs (new or reused) of steps already built in this run."""
        inputs = []
        for key, producer, out_key in s.inputs:
            prod = self.steps.get(producer)  # absent: e.g. a hotfix Pusher has no blessing input
            for k, art in (prod.outputs + prod.reused_outputs) if prod else []:
                if k == out_key:
                    inputs.append((key, art))
        return inputs

    def _reuse(self, step: StepPlan, original: StepPlan) -> None:
        """A cache hit: the step points at the execution it reuses and at that execution's outputs."""
        step.cached_from = original.key
        step.reused_outputs = list(original.outputs) + list(original.reused_outputs)

    def _finish(self, t0: int) -> RunPlan:
        steps = list(self.steps.values())
        run = RunPlan(
            key=self.run_key, pipeline=self.spec.name, orchestrator=self.spec.orchestrator, kfp_run_uuid=self.kfp_run_uuid,
            workflow=self.workflow, namespace=self.spec.namespace, trigger=self.item.trigger,
            scenario=self.item.scenario, created=t0, finished=max(self.ends.values()), steps=steps,
            retry_of=self.item.retry_of.key if self.item.retry_of else None,
            anomalies_found=self.item.scenario == "anomalies",
            labels=(("pipeline/runid", self.kfp_run_uuid), ("workflows.argoproj.io/workflow", self.workflow),
                    *self.RUN_LABELS),
        )
        run.state = run_state(steps)
        return run


class TfxRunBuilder(_RunBuilder):
    """TFX IR written by each component pod (KubeflowDagRunner on KFP v1): lineage.md §5.1 and §5.4."""

    RUN_LABELS = (("pipelines.kubeflow.org/pipeline-sdk-type", "tfx"), ("add-pod-env", "true"))

    def build(self) -> RunPlan:
        f, spec, item, rng = self.f, self.spec, self.item, self.rng
        self.run_key = self.workflow  # TFX on KFP: pipeline-run-id = WORKFLOW_ID
        t0 = item.start
        root = f"{TFX_PIPELINE_ROOT}/{spec.name}"
        pipe_ctx = f.context(f"ctx:pipeline:{spec.name}", "pipeline", spec.name, t0)
        run_ctx = f.context(f"ctx:pipeline_run:{self.workflow}", "pipeline_run", self.workflow, t0, parent=pipe_ctx)
        scenario = item.scenario
        self.span = int(_day_stamp(t0))
        blessed = 0 if scenario == "unblessed" else 1
        order = [s.name for s in spec.steps]
        if scenario == "hotfix":
            order.remove("Evaluator")
        for name in order:
            s = spec.step(name)
            deps = tuple(d for d in s.deps if d in order) or (("Trainer",) if name == "Pusher" else ())
            start = self.ready_time(deps, t0)
            if name == "Pusher" and scenario == "unblessed":
                break  # Cond(blessed == 1) is false: TFX records no Pusher execution at all
            if name in ("Evaluator", "Pusher") and any(self.steps[d].state == "FAILED" for d in self.steps):
                break
            key = f"{self.run_key}/{name}"
            node_ctx = f.context(f"ctx:node:{spec.name}.{name}", "node", f"{spec.name}.{name}", start)
            inputs = self._producer_inputs(s)
            cache_key = _fingerprint(spec.name, name, *[a for _, a in inputs], str(self.span))
            original = self.original.get(name)
            cached = original is not None and name not in ("Trainer", "Evaluator", "Pusher")
            if cached:
                cache_key = original.custom["__cache_key__"]
            cache_ctx = f.context(f"ctx:execution_cache:{cache_key}", "execution_cache", cache_key, start)
            pod_name = f"{self.workflow}-{name.lower()}-{f._node_hash()}"
            if cached:
                dur = rng.randrange(40, 90)
            else:
                dur = f._minutes(s.minutes)
            state = "COMPLETE"
            if scenario == "fail" and name == "Trainer":
                state, dur = "FAILED", int(dur * rng.uniform(0.3, 0.7))
            end = start + dur
            step = StepPlan(
                key=key, run_key=self.run_key, exec_type=s.component, step=name, kind="component",
                state="CACHED" if cached else state, created=start + rng.randrange(15, 30), updated=end - 1,
                name=f._uuid(), node_pool=s.pool, contexts=[pipe_ctx, run_ctx, node_ctx, cache_ctx],
                inputs=inputs, custom=self._exec_props(name, pod_name),
            )
            step.custom["__cache_key__"] = cache_key  # bookkeeping, stripped by the writer
            step.pods.append(self.pod(key, pod_name, s, start, end))
            if cached:
                self._reuse(step, original)
            elif state == "FAILED":
                step.publish_custom["__execution_result__"] = json.dumps(
                    {"code": 137, "resultMessage": "Trainer container was OOMKilled (exit code 137)"})
            else:
                step.outputs = self._outputs(s, step, root, end, blessed, scenario)
            self.steps[name] = step
            self.ends[name] = end
        return self._finish(t0)

    def _exec_props(self, name: str, pod_name: str) -> dict:
        day = _day_stamp(self.item.start)
        props = {
            "CsvExampleGen": {
                "input_base": "gs://acme-ml-data/taxi/csv",
                "input_config": json.dumps({"splits": [{"name": "single_split", "pattern": "span-{SPAN}/*"}]}),
                "output_config": json.dumps({"splitConfig": {"splits": [{"hashBuckets": 3, "name": "train"},
                                                                        {"hashBuckets": 1, "name": "eval"}]}}),
                "output_data_format": 6, "output_file_format": 5, "span": self.span,
                "input_fingerprint": f"split:single_split,num_files:24,total_bytes:{1_800_000_000 + self.span % 997},"
                                     f"xor_checksum:{self.span * 7919 % 10 ** 10},sum_checksum:{self.span * 31}",
            },
            "StatisticsGen": {"exclude_splits": "[]"},
            "SchemaGen": {"infer_feature_shape": 1, "exclude_splits": "[]"},
            "ExampleValidator": {"exclude_splits": "[]"},
            "Transform": {"module_path": "taxi_transform@gs://acme-ml-prod-tfx/wheels/taxi-1.4.2.whl",
                          "force_tf_compat_v1": 0, "splits_config": "null", "disable_statistics": 0},
            "Trainer": {"module_path": "taxi_trainer@gs://acme-ml-prod-tfx/wheels/taxi-1.4.2.whl",
                        "train_args": json.dumps({"num_steps": 4000}), "eval_args": json.dumps({"num_steps": 500}),
                        "custom_config": "null"},
            "Evaluator": {"eval_config": json.dumps({"model_specs": [{"label_key": "tips"}], "metrics_specs": [
                {"metrics": [{"class_name": "BinaryAccuracy", "threshold": {
                    "value_threshold": {"lower_bound": 0.6}}}]}]}),
                "example_splits": "null", "fairness_indicator_thresholds": "null"},
            "Pusher": {"push_destination": json.dumps({"filesystem": {"base_directory": f"{SERVING_ROOT}/taxi"}}),
                       "custom_config": "null"},
        }[name]
        props = dict(props)
        props["kfp_pod_name"] = pod_name
        if name == "CsvExampleGen":
            props["input_config"] = props["input_config"].replace("{SPAN}", day)
        return props

    def _outputs(self, s, step: StepPlan, root: str, end: int, blessed: int, scenario: str):
        outs = []
        for key, type_name in s.outputs:
            art_key = f"{step.key}#{key}"
            art = ArtifactPlan(art_key, type_name, f"{root}/{s.name}/{key}/{{execution_id}}", end,
                               custom={"tfx_version": P.TFX_VERSION}, producer=step.key)
            if type_name in ("Examples", "ExampleStatistics", "ExampleAnomalies"):
                art.properties = {"span": self.span, "split_names": json.dumps(["train", "eval"])}
            if type_name == "ExampleAnomalies":
                # Recent ExampleValidators record their verdict per split as a JSON (struct) custom property
                # `blessed`: 1 = no anomalies in that split. It is a data verdict, not a model blessing.
                art.custom["blessed"] = {"train": 1, "eval": 0 if scenario == "anomalies" else 1}
            if type_name == "Examples":
                if s.name == "CsvExampleGen":
                    art.properties["version"] = 0
                art.custom.update({"file_format": "tfrecords_gzip", "payload_format": "FORMAT_TF_EXAMPLE"})
            if type_name == "ModelBlessing":
                model = dict(step.inputs)["model"]
                art.custom.update({"blessed": blessed, "current_model": Ref("artifact_uri", model),
                                   "current_model_id": Ref("artifact_id", model)})
            if type_name == "PushedModel":
                version = str(end)
                art.custom.update({"pushed": 1, "pushed_destination": f"{SERVING_ROOT}/taxi/{version}",
                                   "pushed_version": version})
                bisect.insort(self.f.pushed_taxi_models, (end, art_key))
            self.f.artifacts[art_key] = art
            outs.append((key, art_key))
        return outs


def _day_stamp(t: int) -> str:
    return time.strftime("%Y%m%d", time.gmtime(t))


class KfpRunBuilder(_RunBuilder):
    """What the KFP v2 driver and launcher write (lineage.md §3), for KFP v2 and KubeflowV2DagRunner runs."""

    RUN_LABELS = (("pipelines.kubeflow.org/v2_component", "true"),)

    PARAMS = {
        "llm-finetune": lambda r, t: {"base_model": "gemma-2-2b", "learning_rate": 0.0002, "epochs": 3,
                                      "dataset_uri": f"gs://acme-ml-data/llm/support-tickets/{_day_stamp(t)[:6]}"},
        "tpu-pretrain": lambda r, t: {"model_size": "1b", "train_steps": 200000,
                                      "corpus": "gs://acme-ml-data/corpus/web-2026-09"},
        "nightly-scoring": lambda r, t: {"scoring_date": _day_stamp(t)},
        "penguin-tfx-v2": lambda r, t: {"data_root": "gs://acme-ml-data/penguin", "train_steps": 100},
    }

    def build(self) -> RunPlan:
        f, spec, item, rng = self.f, self.spec, self.item, self.rng
        self.run_key = self.kfp_run_uuid
        t0 = item.start
        params = self.PARAMS[spec.name](rng, t0 if item.retry_of is None else item.retry_of.created)
        pipeline_root = f"{P.KFP_PIPELINE_ROOT}/{spec.name}/{self.run_key}"
        self.pipe_ctx = f.context(f"ctx:system.Pipeline:{spec.name}", "system.Pipeline", spec.name, t0)
        self.run_ctx = f.context(
            f"ctx:system.PipelineRun:{self.run_key}", "system.PipelineRun", self.run_key, t0 + 20,
            custom={"namespace": spec.namespace, "resource_name": "run-resource", "pipeline_root": pipeline_root,
                    "store_session_info": KFP_STORE_SESSION},
            parent=self.pipe_ctx)
        self.params = params
        scenario = item.scenario
        # The root DAG: created by the root DAG driver, never updated afterwards (it stays RUNNING).
        root_key = f"{self.run_key}/root"
        drv_end = t0 + rng.randrange(15, 30)
        root = StepPlan(key=root_key, run_key=self.run_key, exec_type="system.DAGExecution", step="root",
                        kind="dag", state="RUNNING", created=drv_end - 1, updated=drv_end - 1,
                        name=f"run/{self.run_key}", published=False, node_pool="cpu-pool",
                        contexts=[self.pipe_ctx, self.run_ctx],
                        custom={"display_name": "", "task_name": "", "inputs": dict(params)})
        root.pods.append(self.pod(root_key, f"{self.workflow}-system-dag-driver-{f._node_hash()}", None, t0,
                                  drv_end, driver=True))
        self.steps["root"] = root
        self.ends["root"] = drv_end
        variant = {}
        if spec.name == "llm-finetune" and rng.random() < 0.4:
            variant["finetune"] = P.FINETUNE_L4
        for s in spec.steps:
            s = variant.get(s.name, s)
            if any(self.steps.get(d) is None or self.steps[d].state in ("FAILED", "RUNNING") for d in s.deps):
                break  # an upstream task failed or hangs: Argo never starts this one
            parent = root_key
            if spec.name == "llm-finetune" and s.name == "register-model":
                parent = self._condition_dag(s, scenario)
                if parent is None:
                    break
            self._container_task(s, parent, scenario)
        if "condition-1" in self.steps and self.steps["condition-1"].state == "RUNNING":
            dag = self.steps["condition-1"]
            dag.state, dag.updated = "COMPLETE", self.ends["register-model"]  # closed by the same launcher
        return self._finish(t0)

    def _condition_dag(self, s: P.StepSpec, scenario: str) -> str | None:
        """`dsl.If(evaluate.outputs['accuracy'] >= 0.8)` around register-model: a sub-DAG execution."""
        f, rng = self.f, self.rng
        key = f"{self.run_key}/condition-1"
        start = self.ready_time(("evaluate",), 0)
        drv_end = start + rng.randrange(12, 25)
        passed = scenario != "below_threshold"
        model = dict(self.steps["finetune"].outputs)["model"]
        dag = StepPlan(key=key, run_key=self.run_key, exec_type="system.DAGExecution", step="condition-1",
                       kind="dag", state="RUNNING" if passed else "CANCELED",
                       initial_state="RUNNING" if passed else "CANCELED", created=drv_end - 1,
                       updated=drv_end - 1, node_pool="cpu-pool", parent=f"{self.run_key}/root",
                       contexts=[self.pipe_ctx, self.run_ctx], published=passed,
                       inputs=[("pipelinechannel--finetune-model", model)] if passed else [],
                       custom={"display_name": "condition-1", "task_name": "condition-1",
                               "parent_dag_id": Ref("execution_id", f"{self.run_key}/root"),
                               "total_dag_tasks": 1, "inputs": {"pipelinechannel--evaluate-accuracy":
                                                                 self.accuracy}})
        dag.pods.append(self.pod(key, f"{self.workflow}-system-dag-driver-{f._node_hash()}", None, start, drv_end,
                                 driver=True))
        self.steps["condition-1"] = dag
        self.ends["condition-1"] = drv_end
        return key if passed else None

    def _container_task(self, s: P.StepSpec, parent: str, scenario: str) -> None:
        f, rng, spec = self.f, self.rng, self.spec
        key = f"{self.run_key}/{s.name}"
        deps = s.deps if s.name != "register-model" else ("condition-1",)
        start = self.ready_time(deps, self.ends["root"])
        drv_end = start + rng.randrange(12, 25)
        inputs = self._inputs(s, start)
        fingerprint = _fingerprint(spec.name, s.name, json.dumps(self.params, sort_keys=True),
                                   *[a for _, a in inputs])
        original = self.original.get(s.name)
        cached = original is not None and s.name in ("prepare-data", "tokenize", "load-features")
        custom = {"display_name": s.name, "task_name": s.name, "parent_dag_id": Ref("execution_id", parent),
                  "inputs": self._task_params(s.name)}
        step = StepPlan(key=key, run_key=self.run_key, exec_type="system.ContainerExecution", step=s.name,
                        kind="container", state="COMPLETE", created=drv_end - 1, updated=drv_end - 1,
                        node_pool=s.pool, parent=parent, contexts=[self.pipe_ctx, self.run_ctx], inputs=inputs,
                        custom=custom)
        step.pods.append(self.pod(key, f"{self.workflow}-system-container-driver-{f._node_hash()}", None, start,
                                  drv_end, driver=True))
        self.steps[s.name] = step
        if s.name == "Pusher" and scenario == "unblessed":  # trigger policy false: the driver cancels it
            step.state = step.initial_state = "CANCELED"
            step.inputs, step.published = [], False
            step.custom = {k: v for k, v in custom.items() if k != "inputs"}
            self.ends[s.name] = drv_end
            return
        if cached:
            step.custom["cache_fingerprint"] = original.custom["cache_fingerprint"]
            step.custom["cached_execution_id"] = Ref("execution_id_str", original.key)
            step.state = step.initial_state = "CACHED"
            self._reuse(step, original)
            step.published = False  # the driver writes a cache hit in one call; no pod runs
            self.ends[s.name] = drv_end
            return
        step.custom["cache_fingerprint"] = fingerprint
        pod_start = drv_end + rng.randrange(2, 8)
        pod_name = f"{self.workflow}-system-container-impl-{f._node_hash()}"
        dur = f._minutes(s.minutes)
        state = "COMPLETE"
        failing = {"llm-finetune": "finetune", "tpu-pretrain": "pretrain", "nightly-scoring": "score"}
        if scenario == "fail" and failing.get(spec.name) == s.name:
            state, dur = "FAILED", int(dur * rng.uniform(0.2, 0.6))
        if scenario == "stuck" and s.name == "finetune":
            state, dur = "RUNNING", rng.randrange(4 * 3600, 6 * 3600)  # never started; the workflow was deleted
        end = pod_start + dur
        # The launcher pre-publishes the pod's identity; folded into the creating call here.
        step.custom.update({"pod_name": pod_name, "pod_uid": f._uuid(), "namespace": spec.namespace,
                            "image": s.image})
        step.pods.append(self.pod(key, pod_name, s, pod_start, end))
        step.state = state
        if state == "RUNNING":
            step.published = False
            self.ends[s.name] = end
            return
        step.updated = end + 1
        if state == "COMPLETE":
            step.outputs = self._outputs(s, step, end + 1)
            if s.name == "evaluate":
                step.publish_custom["outputs"] = {"accuracy": self.accuracy}
        self.ends[s.name] = end + 1

    def _task_params(self, task: str) -> dict:
        p = self.params
        return {
            "prepare-data": {"dataset_uri": p.get("dataset_uri", ""), "max_tokens": 2048},
            "finetune": {"base_model": p.get("base_model", ""), "learning_rate": p.get("learning_rate", 0.0),
                         "epochs": p.get("epochs", 0)},
            "evaluate": {"threshold": 0.8},
            "register-model": {"registry": "projects/acme-ml-prod/locations/us-central1/models/support-llm"},
            "tokenize": {"corpus": p.get("corpus", ""), "vocab_size": 32000},
            "pretrain": {"model_size": p.get("model_size", ""), "train_steps": p.get("train_steps", 0)},
            "export-checkpoint": {"format": "safetensors"},
            "load-features": {"scoring_date": p.get("scoring_date", "")},
            "score": {"batch_size": 4096},
            "publish-predictions": {"table": "acme-ml-prod.scoring.taxi_tips_predictions"},
            "CsvExampleGen": {"input_base": p.get("data_root", "")},
            "Trainer": {"train_steps": p.get("train_steps", 0)},
            "Evaluator": {"threshold": 0.6},
            "Pusher": {"push_destination": f"{SERVING_ROOT}/penguin"},
        }[task]

    def _inputs(self, s: P.StepSpec, start: int) -> list[tuple[str, str]]:
        inputs = self._producer_inputs(s)
        if self.spec.name == "nightly-scoring" and s.name == "score":
            # Cross-run lineage: the scoring component is handed the artifact id of taxi-tfx's latest pushed
            # model (as a custom resolver component would); the KFP v2 driver records an INPUT event to it.
            model = self.f.latest_pushed_taxi_model(start)
            if model is not None:
                inputs.append(("model", model))
        return inputs

    @property
    def accuracy(self) -> float:
        if not hasattr(self, "_accuracy"):
            lo, hi = (0.62, 0.78) if self.item.scenario == "below_threshold" else (0.80, 0.92)
            self._accuracy = round(self.rng.uniform(lo, hi), 4)
        return self._accuracy

    def _outputs(self, s: P.StepSpec, step: StepPlan, t: int) -> list[tuple[str, str]]:
        outs = []
        base = f"{P.KFP_PIPELINE_ROOT}/{self.spec.name}/{self.run_key}/{s.name}/{self.f._uuid()}"
        for key, type_name in list(s.outputs) + [("executor-logs", "system.Artifact")]:
            art_key = f"{step.key}#{key}"
            custom = {"display_name": key, "store_session_info": KFP_STORE_SESSION}
            custom.update(self._artifact_metadata(s.name, key, type_name, t))
            art = ArtifactPlan(art_key, type_name, f"{base}/{key}", t, custom=custom, producer=step.key)
            self.f.artifacts[art_key] = art
            outs.append((key, art_key))
        return outs

    def _artifact_metadata(self, task: str, key: str, type_name: str, t: int) -> dict:
        rng = self.rng
        if type_name == "system.Metrics":
            if task == "evaluate":
                return {"accuracy": self.accuracy, "rougeL": round(rng.uniform(0.3, 0.5), 4)}
            if task == "finetune":
                return {"train_loss": round(rng.uniform(0.8, 1.6), 4), "eval_loss": round(rng.uniform(1.0, 1.9), 4)}
            if task == "pretrain":
                return {"final_loss": round(rng.uniform(2.0, 3.2), 4), "tokens_seen": float(rng.randrange(10 ** 10,
                                                                                                       10 ** 11))}
            return {"rows_scored": float(rng.randrange(10 ** 6, 10 ** 7)), "mean_prediction": round(rng.random(), 4)}
        if type_name == "system.Model":
            return {"framework": "jax" if task in ("pretrain", "export-checkpoint") else "pytorch"}
        if type_name == "system.Dataset":
            return {"num_rows": float(rng.randrange(10 ** 5, 10 ** 7))}
        if type_name == "tfx.Examples":  # TFX ints arrive as doubles through the KFP v2 backend
            return {"span": 0.0, "version": 0.0, "split_names": json.dumps(["train", "eval"])}
        if type_name == "tfx.ModelBlessing":
            blessed = 0.0 if self.item.scenario == "unblessed" else 1.0
            return {"blessed": blessed, "current_model_id": "Trainer.model"}
        if type_name == "tfx.PushedModel":
            return {"pushed": 1.0, "pushed_destination": f"{SERVING_ROOT}/penguin/{t}", "pushed_version": str(t)}
        return {}


def build_fleet(runs: int, days: int, seed: int, start: int) -> Fleet:
    return FleetBuilder(runs, days, seed, start).build()
