"""What the fleet generator decides before anything is written: runs, executions, artifacts and pods.

Both writers read only these objects: the MLMD writer turns executions and artifacts into ml-metadata calls,
the billing writer turns pods into usage rows. Times are integer seconds since the Unix epoch (UTC).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Ref:
    """A value only known once the MLMD writer has stored the referenced node.

    kind: "execution_id" (int), "execution_id_str" (str, KFP's cached_execution_id), "artifact_id" (int)."""

    kind: str
    key: str


@dataclass
class Pod:
    name: str
    pool: str
    cpu_m: int
    memory_mib: int
    gpus: int
    tpu_chips: int
    start: int
    end: int
    step_key: str  # the execution whose cost this pod carries (a driver pod carries its task's cost)
    run_key: str
    egress_bytes: int = 0  # inter-zone bytes sent over the pod's life
    vm: int = -1  # set by placement


@dataclass
class ArtifactPlan:
    key: str
    type_name: str
    uri: str  # TFX uris contain "{execution_id}", filled in by the writer
    created: int
    properties: dict[str, Any] = field(default_factory=dict)
    custom: dict[str, Any] = field(default_factory=dict)
    state: str = "LIVE"
    producer: str = ""  # step key


@dataclass
class StepPlan:
    """One MLMD execution (a container task, a DAG, or a TFX component run)."""

    key: str
    run_key: str
    exec_type: str
    step: str  # task name / node id
    kind: str  # "container" | "dag" | "component"
    state: str  # final state in the store: COMPLETE FAILED CACHED RUNNING CANCELED
    created: int
    updated: int
    initial_state: str = "RUNNING"  # state written by the first call
    name: str | None = None
    custom: dict[str, Any] = field(default_factory=dict)  # written at creation
    publish_custom: dict[str, Any] = field(default_factory=dict)  # added when published
    inputs: list[tuple[str, str]] = field(default_factory=list)  # (event key, artifact key)
    outputs: list[tuple[str, str]] = field(default_factory=list)  # new artifacts: (event key, artifact key)
    reused_outputs: list[tuple[str, str]] = field(default_factory=list)  # CACHED: OUTPUT to existing artifacts
    cached_from: str | None = None
    parent: str | None = None
    node_pool: str | None = None
    pods: list[Pod] = field(default_factory=list)
    contexts: list[str] = field(default_factory=list)  # context keys, in association order
    published: bool = True  # False when only the creating call happened (stuck, root DAG)


@dataclass
class ContextPlan:
    key: str
    type_name: str
    name: str
    created: int
    custom: dict[str, Any] = field(default_factory=dict)
    parent: str | None = None


@dataclass
class RunPlan:
    key: str  # lineage run id: the KFP run UUID (KFP v2) or the pipeline_run context name (TFX)
    pipeline: str
    orchestrator: str  # "kfp-v2" | "tfx"
    kfp_run_uuid: str
    workflow: str
    namespace: str
    trigger: str  # "schedule" | "manual" | "retry"
    scenario: str
    created: int
    finished: int
    state: str = "COMPLETE"
    steps: list[StepPlan] = field(default_factory=list)
    retry_of: str | None = None
    anomalies_found: bool = False
    labels: tuple[tuple[str, str], ...] = ()  # the pod labels GKE cost allocation copies (k8s-label/...)


@dataclass
class Fleet:
    seed: int
    start: int
    end: int
    runs: list[RunPlan]
    artifacts: dict[str, ArtifactPlan]
    contexts: dict[str, ContextPlan]

    def steps(self):
        for run in self.runs:
            yield from run.steps

    def pods(self):
        for step in self.steps():
            yield from step.pods
