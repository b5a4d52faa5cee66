"""The fleet as an ordered list of ml-metadata write calls, in the order the real writers make them.

A container task is created by one call (the KFP driver / the TFX launcher registering the execution with its
inputs) and published by a second (outputs and final state); a cache hit, a cancelled task, the root DAG and a
stuck task get only the first. Calls are sorted by their simulated time, so ids grow with time as in a live
store, and every call runs at its own time (see fake_clock.py).

One constraint comes from the clock inside ml-metadata (absl::Now): after the kernel clock moves forward by
more than 0.5 s and at most 5 s between two reads, absl calibrates a cycle-counter slope and then extrapolates
instead of reading the (frozen, jumping) fake clock, which returns stale times. Jumps of 0 s or more than 5 s
always read the clock exactly. So `snap_times` moves a call that would follow the previous one by 1-5 s back to
the previous call's second (never more than 5 s), and writes the moved time back into the plan, so the ground
truth states the times the store holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aipipe_ops.sample import mlmd_kfp_v2, mlmd_tfx
from aipipe_ops.sample.plan import ArtifactPlan, ContextPlan, Fleet

MLMD_WRITERS = {"kfp-v2": mlmd_kfp_v2, "tfx": mlmd_tfx}
BOOKKEEPING = ("__cache_key__",)
UNSAFE_CLOCK_STEP = 5  # seconds: forward clock steps in 1..5 s make absl::Now() extrapolate


@dataclass
class WriteOp:
    time: int
    exec_key: str
    exec_type: str
    state: str
    name: str | None
    custom: dict
    contexts: list[str]
    first: bool
    input_events: list[tuple[str, list]] = field(default_factory=list)
    reused_output_events: list[tuple[str, list]] = field(default_factory=list)
    new_artifacts: list[tuple[str, list]] = field(default_factory=list)


@dataclass
class StorePlan:
    ops: list[WriteOp]
    artifacts: dict[str, ArtifactPlan]
    contexts: dict[str, ContextPlan]
    execution_types: list[str]
    artifact_types: dict[str, tuple[dict[str, str], str | None]]
    context_types: list[str]


def _paths(writer, pairs):
    seen: dict[str, int] = {}
    out = []
    for key, art in pairs:
        index = seen.get(key, 0)
        seen[key] = index + 1
        out.append((art, writer.event_path(key, index)))
    return out


def snap_times(calls: list[tuple[int, int, object, str]]) -> list[tuple[int, int, object, str]]:
    """calls: (time, seq, step, "create"|"publish") sorted; returns them with unsafe forward steps removed."""
    out = []
    current = None
    for t, seq, step, phase in calls:
        if current is not None and 0 < t - current <= UNSAFE_CLOCK_STEP:
            t = current
        current = t
        out.append((t, seq, step, phase))
    return out


def build_store_plan(fleet: Fleet) -> StorePlan:
    calls = []
    seq = 0
    for run in fleet.runs:
        for step in run.steps:
            calls.append((step.created, seq, step, "create"))
            seq += 1
            if step.published:
                calls.append((step.updated, seq, step, "publish"))
                seq += 1
    calls.sort(key=lambda c: (c[0], c[1]))
    calls = snap_times(calls)
    for t, _, step, phase in calls:  # the plan keeps the times the store will hold
        if phase == "create":
            step.created = t
            if not step.published:
                step.updated = t
        else:
            step.updated = t
            for _, art_key in step.outputs:
                fleet.artifacts[art_key].created = t
    run_of = {s.key: r for r in fleet.runs for s in r.steps}
    ops: list[WriteOp] = []
    execution_types: dict[str, None] = {}
    artifact_types: dict[str, tuple] = {}
    for t, _, step, phase in calls:
        run = run_of[step.key]
        writer = MLMD_WRITERS[run.orchestrator]
        execution_types.setdefault(step.exec_type)
        custom = {k: v for k, v in step.custom.items() if k not in BOOKKEEPING}
        if phase == "create":
            op = WriteOp(t, step.key, step.exec_type, step.initial_state, step.name, custom,
                         list(step.contexts), True, _paths(writer, step.inputs))
            if not step.published:
                op.reused_output_events = _paths(writer, step.reused_outputs)
        else:
            op = WriteOp(t, step.key, step.exec_type, step.state, step.name,
                         {**custom, **step.publish_custom}, list(step.contexts), False)
            op.reused_output_events = _paths(writer, step.reused_outputs)
            op.new_artifacts = _paths(writer, step.outputs)
            for art_key, _ in op.new_artifacts:
                type_name = fleet.artifacts[art_key].type_name
                artifact_types.setdefault(type_name, writer.artifact_type(type_name))
        ops.append(op)
    context_types = []
    for ctx in fleet.contexts.values():
        if ctx.type_name not in context_types:
            context_types.append(ctx.type_name)
    return StorePlan(ops, fleet.artifacts, fleet.contexts, list(execution_types), artifact_types, context_types)
