"""The KFP API source: `aipipe lineage snapshot --kfp URL` reads runs, tasks, pods, artifacts and artifact-task
edges through the KFP REST API v2beta1, read-only, into the same tables as the MLMD source (runs, steps,
artifacts, events), so everything downstream is unchanged.

Two API generations (facts: kubeflow/pipelines backend/api/v2beta1/run.proto, artifact.proto):
- `task_details` (KFP 2.x <= 2.17): `GET /runs` carries `run_details.task_details[]` with `execution_id` and
  `inputs`/`outputs` as MLMD artifact ids. Artifact details still live in MLMD: with `--mlmd` alongside they are
  read from it by id; without, artifacts are known by id only (kind `other`). A cache hit reads SKIPPED with
  outputs (a task skipped by a false condition has none).
- `native` (releases without MLMD): `GET /runs/{id}/tasks`, `GET /artifacts`, `GET /artifact_tasks?run_ids=`.

What one snapshot asks (every request counted): healthz (1); the run list sorted newest first, stopping at the
last snapshot's high-water `created_at` (1 page when nothing is new); one GET per run left open by the last
snapshot (its finish is the only change a closed run can't have); per new run, its tasks (native: 1 page) and
its edges (native: 1 call per 20 runs); artifacts created since the high-water mark (native, paged) or by id
from MLMD (task_details). Pipeline and experiment names are looked up once each and kept in the watermark; so are
the requests of each pipeline version that a run without an embedded spec references (one GET per version, until
a full copy).

Each task's CPU, memory and accelerator requests come from the run's `pipeline_spec` (pipeline_spec.py) into
steps.properties, for step costs split by requests. A run created from an uploaded pipeline version carries no
spec, only `pipeline_version_reference` {pipeline_id, pipeline_version_id} (run.proto's oneof pipeline_source): its
requests come from that version's `pipeline_spec` (pipeline.proto: GET /pipelines/{pipeline_id}/versions/
{pipeline_version_id} -> PipelineVersion). A version's spec never changes (UpdatePipelineVersion, 2.17 on, changes
only its display_name and tags), so each version is asked for once, the first time a run names it, and the requests it
gives are kept in the watermark (`versions`): many runs share a version, and no later snapshot asks again. A
version that is gone (404) or holds no spec leaves its runs without requests, their steps split by duration, with
a note naming the version and the runs; any other error fails the snapshot with one line, as every other call.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from aipipe_ops.errors import ConfigError, SourceError
from aipipe_ops.lineage import kinds
from aipipe_ops.lineage.sources.base import CopyResult
from aipipe_ops.lineage.sources.kfp_api_client import KfpApi
from aipipe_ops.lineage.sources.mlmd_connection import LIBRARY_SCHEMA_VERSION
from aipipe_ops.lineage.sources.pipeline_spec import REQUESTS_PROPERTY, compiled_spec, task_requests

SCHEMES = ("kfp",)
API = "/apis/v2beta1"
LAST_MLMD_MINOR = 17           # KFP 2.17 is the last release line with MLMD (reference/2026-updates.md §1)
EDGE_BATCH = 20                # run ids per /artifact_tasks call
TERMINAL = {"SUCCEEDED", "FAILED", "CANCELED", "SKIPPED"}
RUN_STATES = {"SUCCEEDED": "SUCCEEDED", "SKIPPED": "SUCCEEDED", "FAILED": "FAILED", "RUNNING": "RUNNING",
              "PENDING": "RUNNING", "PAUSED": "RUNNING", "CANCELING": "CANCELED", "CANCELED": "CANCELED"}
# API task state -> the MLMD execution state the workspace speaks (steps.state).
STEP_STATES = {"SUCCEEDED": "COMPLETE", "FAILED": "FAILED", "RUNNING": "RUNNING", "PENDING": "NEW",
               "CACHED": "CACHED", "SKIPPED": "CANCELED", "CANCELING": "CANCELED", "CANCELED": "CANCELED",
               "PAUSED": "RUNNING"}
# Native Artifact.type -> the KFP v2 MLMD type name, so kinds and type names read as through MLMD.
ARTIFACT_TYPES = {"Artifact": "system.Artifact", "Model": "system.Model", "Dataset": "system.Dataset",
                  "HTML": "system.HTML", "Markdown": "system.Markdown", "Metric": "system.Metrics",
                  "ClassificationMetric": "system.ClassificationMetrics",
                  "SlicedClassificationMetric": "system.SlicedClassificationMetrics"}
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
# ArtifactTask.type (artifact.proto enum IOType) values that make the task the artifact's producer, by name and
# number; every other value is an input (TASK_OUTPUT_INPUT is an input that an upstream task's output feeds).
OUTPUT_IO_TYPES = {"ITERATOR_OUTPUT", "OUTPUT", "ONE_OF_OUTPUT", "TASK_FINAL_STATUS_OUTPUT", 8, 9, 10, 11}
NOTE_RUNS = 5                  # run ids a note names before "+N more"


@dataclass(frozen=True)
class KfpTarget:
    """What --kfp names; passed to snapshot() in place of a --mlmd URI (scheme `kfp`)."""
    url: str
    namespace: str | None = None
    token_env: str | None = None
    mlmd: str | None = None
    auth: str | None = None           # "adc": an ID token from application default credentials (IAP)
    audience: str | None = None       # the ID token's audience with auth="adc" (IAP: its OAuth client id)

    scheme = "kfp"

    @property
    def display(self) -> str:
        return f"{self.url.rstrip('/')}" + (f"?namespace={self.namespace}" if self.namespace else "")


def stable_id(text: str) -> int:
    """An API id as the BIGINT the tables hold: itself when numeric (MLMD ids), else 63 bits of its hash."""
    text = str(text)
    if text.isdigit():
        return int(text)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 1


def parse_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return None if stamp <= EPOCH else stamp      # KFP answers 1970-01-01 for "not yet"


def _token(target: KfpTarget) -> str | None:
    if target.token_env and target.auth == "adc":
        raise ConfigError(f"--token-env {target.token_env} and --auth adc both give the bearer token: use one")
    if target.token_env:
        token = os.environ.get(target.token_env, "").strip()
        if not token:
            raise ConfigError(f"--token-env {target.token_env}: that environment variable is empty or unset "
                              f"(behind IAP: export {target.token_env}=$(gcloud auth print-identity-token))")
        return token
    if target.auth == "adc":
        return adc_id_token(target.audience or re.match(r"https?://[^/]+", target.url).group(0))
    return None     # no network authentication unless asked for: a plain port-forward needs none


def adc_id_token(audience: str) -> str:
    """An ID token for `audience` from application default credentials (`--auth adc`), as IAP expects."""
    hint = (f"set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file, run where a metadata server "
            f"serves a service account (GKE, GCE), or pass a user's token with --token-env KFP_TOKEN "
            f"(export KFP_TOKEN=$(gcloud auth print-identity-token --audiences={audience}))")
    try:
        import google.auth.exceptions
        import google.auth.transport.requests
        import google.oauth2.id_token
    except ImportError as exc:
        raise ConfigError(f"--auth adc needs the google-auth package (pip install google-auth); or {hint}") from exc
    try:
        return google.oauth2.id_token.fetch_id_token(google.auth.transport.requests.Request(), audience)
    except google.auth.exceptions.DefaultCredentialsError as exc:
        detail = " ".join(str(exc).split())[:200]
        raise ConfigError(f"--auth adc: no application default credentials that can mint an ID token for "
                          f"{audience} ({detail}); {hint}") from exc
    except Exception as exc:  # noqa: BLE001 - a refresh that fails (network, revoked key) is one line too
        detail = " ".join(str(exc).split())[:200]
        raise SourceError(f"--auth adc: fetching an ID token for {audience} failed ({type(exc).__name__}: "
                          f"{detail})") from exc


class KfpApiSource:
    def __init__(self, target: KfpTarget, *, password_prompt=None, batch_size: int | None = None):
        if not re.match(r"https?://[^/]+", target.url):
            raise ConfigError(f"--kfp {target.url}: expected http(s)://host[:port], e.g. http://localhost:8888 "
                              f"(kubectl -n kubeflow port-forward svc/ml-pipeline 8888:8888)")
        self.target = target
        self.display_uri = target.display
        self.api = KfpApi(target.url, token=_token(target), namespace=target.namespace)
        self.page_size = min(batch_size or 100, 1000)
        self.password_prompt = password_prompt
        self._versions: dict[str, dict] = {}
        self._unread: dict[str, list[str]] = {}

    def close(self) -> None:
        self.api.close()

    # -- the protocol -----------------------------------------------------------------------------------------
    def copy_into(self, con: duckdb.DuckDBPyConnection, previous: dict[str, Any] | None, progress) -> CopyResult:
        generation, version = self._generation()
        if previous is not None and previous.get("generation") != generation:
            previous = None
        full = previous is None
        prev = previous or {}
        names = {"pipelines": dict(prev.get("pipelines", {})), "experiments": dict(prev.get("experiments", {}))}
        # pipeline version id -> {"requests": {task: requests}} or {"missing": why}: each version is read once.
        self._versions = dict(prev.get("versions", {}))
        self._unread = {}                              # version id -> the runs read now that it gave no requests
        since = parse_time(prev.get("created_high"))
        task = progress.add_task("runs (KFP API)", total=None)
        runs = self._new_runs(since, set(prev.get("at_high", [])))
        listed = {r["run_id"] for r in runs}
        for run_id in prev.get("open_runs", []):
            if run_id not in listed:
                run = self.api.get(f"{API}/runs/{run_id}", allow_404=True)
                if run:
                    runs.append(run)
        progress.update(task, completed=len(runs), total=len(runs))
        created_high = max([parse_time(r.get("created_at")) for r in runs if r.get("created_at")]
                           + ([since] if since else []), default=None)
        watermark = {"schema_version": LIBRARY_SCHEMA_VERSION, "generation": generation, "server": version,
                     "created_high": created_high.isoformat() if created_high else None,
                     "open_runs": sorted(set(prev.get("open_runs", [])) - {r["run_id"] for r in runs}),
                     # Runs created at the high-water instant: the next list starts there (a run created in the
                     # same instant may not be visible yet) and skips these.
                     "at_high": sorted({r["run_id"] for r in runs if parse_time(r.get("created_at")) == created_high}
                                       | (set(prev.get("at_high", [])) if created_high == since else set())),
                     **names, "versions": self._versions}       # filled in as the runs below are read
        if full:
            for table in ("steps", "artifacts", "events"):
                con.execute(f"DELETE FROM {table}")
            con.execute("DELETE FROM runs WHERE source = ?", [self.display_uri])
        if not runs:
            return CopyResult(watermark=watermark, rows={"runs": 0}, calls=dict(self.api.calls),
                              orchestrators=["kfp-v2"], full=full, changed=full)
        run_rows = [self._run_row(r, names) for r in runs]
        watermark["open_runs"] = sorted(set(watermark["open_runs"])
                                        | {row["run_id"] for row in run_rows if row["state"] not in TERMINAL})
        if generation == "native":
            steps, events, artifacts = self._native(runs, since, con)
        else:
            steps, events, artifacts = self._task_details(runs)
        rows = self._write(con, run_rows, steps, events, artifacts)
        if generation == "task_details" and artifacts:
            rows["artifacts"] = self._artifacts_from_mlmd(con, sorted(artifacts), progress)
        self._derive(con)
        return CopyResult(watermark=watermark, rows=rows, calls=dict(self.api.calls), orchestrators=["kfp-v2"],
                          full=full, notes=[f"KFP API {version} ({generation.replace('_', ' ')})",
                                            *self._version_notes()])

    # -- the server ---------------------------------------------------------------------------------------------
    def _generation(self) -> tuple[str, str]:
        health = self.api.get(f"{API}/healthz", allow_404=True)
        if health is None:
            v1 = self.api.get("/apis/v1beta1/healthz", allow_404=True)
            found = f"a KFP 1.x API server (tag {v1.get('tag_name', '?')})" if v1 else "no KFP API (404 on healthz)"
            raise SourceError(f"--kfp {self.target.url}: found {found}; aipipe reads the v2beta1 API of KFP >= 2.0 "
                              f"(for KFP 1.x use --mlmd grpc://... on its metadata-grpc-service)")
        tag = str(health.get("tag_name") or "unknown")
        match = re.match(r"v?(\d+)\.(\d+)", tag)
        if match and int(match.group(1)) < 2:
            raise SourceError(f"--kfp {self.target.url}: found KFP {tag}; aipipe reads the v2beta1 API of KFP >= 2.0")
        if match and (int(match.group(1)), int(match.group(2))) <= (2, LAST_MLMD_MINOR):
            return "task_details", tag
        # A later release or a build from master: the native artifact API answers, or this is not one.
        probe = self.api.get(f"{API}/artifacts", {"page_size": 1, "namespace": self.target.namespace},
                             allow_404=True)
        if probe is None:
            if match:
                raise SourceError(f"--kfp {self.target.url}: found KFP {tag} without the native artifact API "
                                  f"(GET {API}/artifacts answered 404); this aipipe reads KFP 2.0-2.{LAST_MLMD_MINOR} "
                                  f"(run_details.task_details) and releases with {API}/artifacts")
            return "task_details", tag
        return "native", tag

    def _new_runs(self, since: dt.datetime | None, seen_at_since: set[str]) -> list[dict]:
        params: dict[str, Any] = {"sort_by": "created_at desc", "namespace": self.target.namespace}
        if since is not None:
            params["filter"] = json.dumps({"predicates": [{"key": "created_at", "operation": "GREATER_THAN_EQUALS",
                                                           "timestamp_value": since.isoformat()}]})
        found = []
        for page in self.api.pages(f"{API}/runs", "runs", params, self.page_size):
            fresh = [r for r in page if since is None or (parse_time(r.get("created_at")) or EPOCH) >= since]
            found.extend(r for r in fresh if r["run_id"] not in seen_at_since)
            if len(fresh) < len(page):      # sorted newest first: the rest is older (a server ignoring filter)
                break
        return found

    def _name(self, names: dict, kind: str, object_id: str | None, field: str) -> str | None:
        if not object_id:
            return None
        if object_id not in names[kind]:
            found = self.api.get(f"{API}/{kind}/{object_id}", allow_404=True) or {}
            names[kind][object_id] = found.get(field) if field != "display_name" else (
                found.get("name") or found.get("display_name"))
        return names[kind][object_id]

    def _run_row(self, run: dict, names: dict) -> dict:
        spec_name = ((compiled_spec(run.get("pipeline_spec")) or {}).get("pipelineInfo") or {}).get("name")
        reference = run.get("pipeline_version_reference") or {}
        pipeline = spec_name or self._name(names, "pipelines", reference.get("pipeline_id"), "display_name")
        namespace = self.target.namespace or self._name(names, "experiments", run.get("experiment_id"), "namespace")
        state = RUN_STATES.get(run.get("state") or "", "UNKNOWN")
        return {"run_id": run["run_id"], "pipeline": pipeline, "namespace": namespace, "state": state,
                "created_at": parse_time(run.get("created_at")),
                "finished_at": parse_time(run.get("finished_at")) if state in TERMINAL else None}

    # -- each task's requests: the run's spec, else its pipeline version's ----------------------------------------
    def _requests(self, run: dict, spec: dict | None) -> dict[str, dict[str, float]]:
        """{task name: requests} from the spec the run embeds, else from the pipeline version it references (read
        once per version, kept in the watermark); {} when neither gives one."""
        if compiled_spec(spec) is not None:
            return task_requests(spec)
        reference = run.get("pipeline_version_reference") or {}
        pipeline_id, version_id = reference.get("pipeline_id"), reference.get("pipeline_version_id")
        if not pipeline_id or not version_id:
            return {}
        if version_id not in self._versions:
            found = self.api.get(f"{API}/pipelines/{pipeline_id}/versions/{version_id}", allow_404=True)
            if found is None:
                self._versions[version_id] = {"missing": f"pipeline version {version_id} of pipeline {pipeline_id} "
                                                         f"not found (HTTP 404: deleted?)"}
            elif compiled_spec(found.get("pipeline_spec")) is None:
                error = " ".join(str((found.get("error") or {}).get("message") or "").split())[:200]
                self._versions[version_id] = {"missing": f"pipeline version {version_id} of pipeline {pipeline_id} "
                                                         f"has no pipeline_spec" + (f" ({error})" if error else "")}
            else:
                self._versions[version_id] = {"requests": task_requests(found["pipeline_spec"])}
        known = self._versions[version_id]
        if "missing" in known:
            self._unread.setdefault(version_id, []).append(run["run_id"])
        return known.get("requests") or {}

    def _version_notes(self) -> list[str]:
        """One note per pipeline version that gave the runs read now no requests: which version, which runs."""
        notes = []
        for version_id, run_ids in sorted(self._unread.items()):
            run_ids = sorted(set(run_ids))
            named = ", ".join(run_ids[:NOTE_RUNS]) + (f" (+{len(run_ids) - NOTE_RUNS} more)"
                                                      if len(run_ids) > NOTE_RUNS else "")
            notes.append(f"{self._versions[version_id]['missing']}: no task requests for "
                         f"run{'s' if len(run_ids) > 1 else ''} {named}: {'their' if len(run_ids) > 1 else 'its'} "
                         f"steps split by duration")
        return notes

    # -- generation 1: run_details.task_details, MLMD ids -----------------------------------------------------
    def _task_details(self, runs: list[dict]):
        steps, events, artifacts = [], [], set()
        for run in runs:
            details = run.get("run_details")
            spec = run.get("pipeline_spec")
            if details is None:
                full = self.api.get(f"{API}/runs/{run['run_id']}") or {}
                details, spec = full.get("run_details") or {}, spec or full.get("pipeline_spec")
                run = {**full, **run}
            requests = self._requests(run, spec)
            for t in details.get("task_details") or []:
                outputs = {k: v.get("artifact_ids") or [] for k, v in (t.get("outputs") or {}).items()}
                inputs = {k: v.get("artifact_ids") or [] for k, v in (t.get("inputs") or {}).items()}
                state = t.get("state") or ""
                if state == "SKIPPED" and any(outputs.values()):
                    state = "CACHED"          # a cache hit: skipped, yet with (re-used) outputs
                # DAGs (the root, conditions, loops) are the tasks with children; the root has no parent.
                is_dag = "child_tasks" in t or not t.get("parent_task_id")
                eid = stable_id(t.get("execution_id") or t["task_id"])
                name = t.get("display_name") or ""
                steps.append(self._step(eid, run["run_id"], name, is_dag, name.startswith("importer"), state,
                                        t.get("pod_name"), t.get("create_time"),
                                        t.get("end_time") or t.get("start_time") or t.get("create_time"),
                                        requests.get(name)))
                for direction, io in (("input", inputs), ("output", outputs)):
                    for key, ids in io.items():
                        for aid in ids:
                            events.append((eid, stable_id(aid), direction, key))
                            artifacts.add(stable_id(aid))
        return steps, events, {a: None for a in artifacts}

    def _artifacts_from_mlmd(self, con, ids: list[int], progress) -> int:
        """Artifact details by MLMD id (task_details releases keep them in MLMD), when --mlmd is given."""
        if not self.target.mlmd:
            return len(ids)
        from aipipe_ops.lineage.sources import open_source
        from aipipe_ops.lineage.sources.mlmd_reader import MlmdReader

        mlmd = open_source(self.target.mlmd, password_prompt=self.password_prompt)
        try:
            reader = MlmdReader(mlmd.store, batch_size=mlmd.batch_size)
            count, _ = mlmd._copy_artifacts(con, reader, ids, reader.types(), progress)
            for method, n in reader.calls.items():
                self.api.calls[f"mlmd.{method}"] += n
            return count
        finally:
            mlmd.close()

    # -- generation 2: native tasks and artifacts ---------------------------------------------------------------
    def _native(self, runs: list[dict], since: dt.datetime | None, con):
        steps, events = [], []
        ns = self.target.namespace
        for run in runs:
            requests = self._requests(run, run.get("pipeline_spec"))
            for page in self.api.pages(f"{API}/runs/{run['run_id']}/tasks", "tasks", {}, 1000):
                for t in page:
                    pods = t.get("pods") or []
                    pod = next((p.get("name") for p in pods if p.get("type") == "EXECUTOR"), None)
                    kind = t.get("type") or ""
                    steps.append(self._step(stable_id(t["task_id"]), run["run_id"], t.get("display_name") or t.get("name"),
                                            kind in ("ROOT", "DAG", "LOOP", "CONDITION", "CONDITION_BRANCH",
                                                     "EXIT_HANDLER"), kind == "IMPORTER", t.get("state") or "", pod,
                                            t.get("create_time"), t.get("end_time") or t.get("create_time"),
                                            requests.get(t.get("name") or t.get("display_name"))))
        run_ids = [r["run_id"] for r in runs]
        for i in range(0, len(run_ids), EDGE_BATCH):
            for page in self.api.pages(f"{API}/artifact_tasks", "artifact_tasks",
                                       {"run_ids": run_ids[i:i + EDGE_BATCH]}, 1000):
                for e in page:
                    direction = "output" if e.get("type") in OUTPUT_IO_TYPES else "input"
                    events.append((stable_id(e["task_id"]), stable_id(e["artifact_id"]), direction, e.get("key")))
        artifacts: dict[int, dict] = {}
        params = {"namespace": ns}
        if since is not None:
            params["filter"] = json.dumps({"predicates": [{"key": "created_at", "operation": "GREATER_THAN",
                                                           "timestamp_value": since.isoformat()}]})
        for page in self.api.pages(f"{API}/artifacts", "artifacts", params, 1000):
            for a in page:
                artifacts[stable_id(a["artifact_id"])] = a
        wanted = {e[1] for e in events} - set(artifacts)
        if wanted:
            con.register("_wanted", pa.table({"id": pa.array(sorted(wanted), pa.int64())}))
            held = {r[0] for r in con.execute("SELECT a.artifact_id FROM artifacts a JOIN _wanted w "
                                              "ON w.id = a.artifact_id").fetchall()}
            con.unregister("_wanted")
            for aid in sorted(wanted - held):
                found = self.api.get(f"{API}/artifacts/{aid}", allow_404=True)
                if found:
                    artifacts[aid] = found
        return steps, events, artifacts

    # -- into the tables ----------------------------------------------------------------------------------------
    @staticmethod
    def _step(eid, run_id, name, is_dag, is_importer, state, pod, created, updated, requests=None) -> dict:
        component = "dag" if is_dag else "importer" if is_importer else re.sub(r"-[0-9]+$", "", name or "")
        type_name = ("system.DAGExecution" if is_dag else "system.ImporterExecution" if is_importer
                     else "system.ContainerExecution")
        root = is_dag and name == "root"
        return {"execution_id": eid, "run_id": run_id, "step": name, "component": component,
                "state": STEP_STATES.get(state, "UNKNOWN"), "pod_name": pod or None,
                "created_at": parse_time(created), "updated_at": parse_time(updated), "type_name": type_name,
                "name": f"run/{run_id}" if root else None,
                # what the run's pipeline spec says the task requests (pipeline_spec.py), for step costs
                "properties": json.dumps({REQUESTS_PROPERTY: requests}) if requests and not is_dag else None}

    def _write(self, con, run_rows, steps, events, artifacts) -> dict[str, int]:
        run_ids = pa.table({"run_id": pa.array([r["run_id"] for r in run_rows], pa.string())})
        con.register("_runs_read", run_ids)
        con.execute("DELETE FROM events WHERE execution_id IN (SELECT execution_id FROM steps "
                    "WHERE run_id IN (SELECT run_id FROM _runs_read))")
        con.execute("DELETE FROM steps WHERE run_id IN (SELECT run_id FROM _runs_read)")
        con.execute("DELETE FROM runs WHERE source = ? AND run_id IN (SELECT run_id FROM _runs_read)",
                    [self.display_uri])
        con.unregister("_runs_read")
        con.register("_r", pa.Table.from_pylist(run_rows, schema=pa.schema([
            ("run_id", pa.string()), ("pipeline", pa.string()), ("namespace", pa.string()), ("state", pa.string()),
            ("created_at", pa.timestamp("us", "UTC")), ("finished_at", pa.timestamp("us", "UTC"))])))
        con.execute("""INSERT INTO runs (run_id, pipeline, orchestrator, namespace, state, created_at, finished_at,
                       source) SELECT run_id, pipeline, 'kfp-v2', namespace, state, created_at, finished_at, ?
                       FROM _r""", [self.display_uri])
        con.unregister("_r")
        con.register("_s", pa.Table.from_pylist(steps, schema=pa.schema([
            ("execution_id", pa.int64()), ("run_id", pa.string()), ("step", pa.string()),
            ("component", pa.string()), ("state", pa.string()), ("pod_name", pa.string()),
            ("created_at", pa.timestamp("us", "UTC")), ("updated_at", pa.timestamp("us", "UTC")),
            ("type_name", pa.string()), ("name", pa.string()), ("properties", pa.string())])))
        con.execute("""INSERT INTO steps (execution_id, run_id, step, component, state, pod_name, created_at,
                       updated_at, type_name, name, properties, dialect)
                       SELECT * REPLACE (properties::JSON AS properties), 'kfp-v2' FROM _s""")
        con.unregister("_s")
        states = {s["execution_id"]: s["state"] for s in steps}
        event_rows = [{"execution_id": e, "artifact_id": a,
                       "direction": "reuse" if d == "output" and states.get(e) == "CACHED" else d,
                       "role": role, "event_type": d.upper()} for e, a, d, role in dict.fromkeys(events)]
        con.register("_e", pa.Table.from_pylist(event_rows, schema=pa.schema([
            ("execution_id", pa.int64()), ("artifact_id", pa.int64()), ("direction", pa.string()),
            ("role", pa.string()), ("event_type", pa.string())])))
        con.execute("INSERT INTO events (execution_id, artifact_id, direction, role, event_type) SELECT * FROM _e")
        con.unregister("_e")
        art_rows = []
        for aid, a in artifacts.items():
            a = a or {}
            raw = a.get("type")
            # Outside the ArtifactType enum: a schema title the enum cannot express (tfx.Examples...), kept as is.
            type_name = ARTIFACT_TYPES.get(raw, raw or None)
            art_rows.append({"artifact_id": aid, "kind": kinds.kind_of(type_name) if type_name else "other",
                             "type_name": type_name, "uri": a.get("uri"), "state": "LIVE" if a else None,
                             "created_at": parse_time(a.get("created_at")), "name": a.get("name"),
                             "properties": json.dumps(a["metadata"]) if a.get("metadata") else None})
        con.register("_a", pa.Table.from_pylist(art_rows, schema=pa.schema([
            ("artifact_id", pa.int64()), ("kind", pa.string()), ("type_name", pa.string()), ("uri", pa.string()),
            ("state", pa.string()), ("created_at", pa.timestamp("us", "UTC")), ("name", pa.string()),
            ("properties", pa.string())])))
        con.execute("DELETE FROM artifacts WHERE artifact_id IN (SELECT artifact_id FROM _a)")
        con.execute("""INSERT INTO artifacts (artifact_id, kind, type_name, uri, state, created_at, name, properties,
                       updated_at) SELECT artifact_id, kind, type_name, uri, state, created_at, name,
                       properties::JSON, created_at FROM _a""")
        con.unregister("_a")
        return {"runs": len(run_rows), "executions": len(steps), "events": len(event_rows),
                "artifacts": len(art_rows)}

    @staticmethod
    def _derive(con) -> None:
        # The API names no cache origin: a hit re-uses outputs that an execution which really ran produced.
        con.execute("""
            UPDATE steps SET cached_from = o.original
            FROM (SELECT c.execution_id, min(p.execution_id) AS original
                  FROM events c JOIN events p ON p.artifact_id = c.artifact_id AND p.direction = 'output'
                  WHERE c.direction = 'reuse' GROUP BY c.execution_id) o
            WHERE steps.execution_id = o.execution_id AND steps.state = 'CACHED'
        """)


def open_source(target: KfpTarget, *, password_prompt=None, batch_size: int | None = None) -> KfpApiSource:
    return KfpApiSource(target, password_prompt=password_prompt, batch_size=batch_size)
