"""What a KFP v2 pipeline spec says each task requests: CPU, memory and accelerators, for step costs split by
requests (docs/cost-model.md §6).

KFP records a task's resources only in the compiled pipeline spec (MLMD never holds them): a task of a DAG names a
component (`componentRef.name`), the component its executor (`executorLabel`) or a sub-DAG (`dag.tasks`), and
the executor's container its `resources` (facts: kubeflow/pipelines api/v2alpha1/pipeline_spec.proto ResourceSpec,
sdk/python/test_data/pipelines/pipeline_with_resource_spec.yaml). The quantity strings (`resourceCpuRequest: '500m'`,
`resourceMemoryRequest: 4Gi`) win over the deprecated floats (`cpuRequest` in cores, `memoryRequest` in GB); a
request absent falls back to the limit, as Kubernetes does; an accelerator whose type names a TPU counts chips,
any other GPUs, and a container without one requests 0 of both (an unknown CPU or memory request stays unknown). A source stores the result in steps.properties under REQUESTS_PROPERTY.

The KFP API serves a spec compiled with a platform spec (kubernetes config: node selectors, secrets, volumes) as
{"pipeline_spec": ..., "platform_spec": ...} rather than the pipeline spec itself, for a run and for a pipeline
version alike (facts: backend/src/apiserver/server/api_util.go YamlStringToPipelineSpecStruct); compiled_spec()
takes the pipeline spec out of either form.
"""

from __future__ import annotations

import re
from typing import Any

REQUESTS_PROPERTY = "aipipe_requests"   # steps.properties key: {"cpu": cores, "memory": bytes, "gpu": n, "tpu": n}

_SUFFIX = {"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15,
           "Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50}
_QUANTITY = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(m|k|Ki|Mi|Gi|Ti|Pi|M|G|T|P)?\s*$")


def quantity(text: Any) -> float | None:
    """A Kubernetes quantity ('500m', '4Gi', '2', 1.5) as a number; None when absent or not one."""
    if text is None or text == "":
        return None
    if isinstance(text, (int, float)):
        return float(text)
    match = _QUANTITY.match(str(text))
    return float(match.group(1)) * _SUFFIX[match.group(2) or ""] if match else None


def container_requests(resources: dict) -> dict[str, float]:
    """{resource: request} of one executor container's `resources` (cpu in cores, memory in bytes, gpu or tpu in
    devices): what the spec states, and 0 accelerators of the kinds it does not name."""
    out: dict[str, float] = {"gpu": 0.0, "tpu": 0.0}
    cpu = next((v for v in (quantity(resources.get("resourceCpuRequest")), _float(resources.get("cpuRequest")),
                            quantity(resources.get("resourceCpuLimit")), _float(resources.get("cpuLimit")))
                if v is not None), None)
    gb = next((v for v in (_float(resources.get("memoryRequest")), _float(resources.get("memoryLimit")))
               if v is not None), None)
    memory = next((v for v in (quantity(resources.get("resourceMemoryRequest")), None if gb is None else gb * 1e9,
                               quantity(resources.get("resourceMemoryLimit"))) if v is not None), None)
    if cpu is not None:
        out["cpu"] = cpu
    if memory is not None:
        out["memory"] = memory
    accelerator = resources.get("accelerator") or {}
    count = quantity(accelerator.get("resourceCount")) or quantity(accelerator.get("count"))
    kind = str(accelerator.get("resourceType") or accelerator.get("type") or "")
    if count and kind:
        out["tpu" if "tpu" in kind.lower() else "gpu"] = count
    return out


def compiled_spec(struct: Any) -> dict | None:
    """The pipeline spec of a `pipeline_spec` Struct as the KFP API serves it: the spec itself, or the
    `pipeline_spec` field of the {pipeline_spec, platform_spec} form; None when there is none."""
    if not isinstance(struct, dict) or not struct:
        return None
    if "root" not in struct and isinstance(struct.get("pipeline_spec"), dict):
        return struct["pipeline_spec"]
    return struct


def task_requests(spec: dict | None) -> dict[str, dict[str, float]]:
    """{task name: container_requests} of every container task of a compiled pipeline spec (either form the API
    serves, compiled_spec), nested DAGs included (a task name repeated in two DAGs keeps the first found); {}
    without a spec."""
    spec = compiled_spec(spec)
    if spec is None:
        return {}
    components = spec.get("components") or {}
    executors = (spec.get("deploymentSpec") or {}).get("executors") or {}
    out: dict[str, dict[str, float]] = {}
    pending = [((spec.get("root") or {}).get("dag") or {}).get("tasks") or {}]
    seen: set[str] = set()
    while pending:
        for name, task in pending.pop().items():
            component_name = (task.get("componentRef") or {}).get("name") or ""
            component = components.get(component_name) or {}
            if "dag" in component:
                if component_name not in seen:
                    seen.add(component_name)
                    pending.append(component["dag"].get("tasks") or {})
                continue
            container = (executors.get(component.get("executorLabel") or "") or {}).get("container")
            if container is not None:
                requests = container_requests(container.get("resources") or {})
                out.setdefault(name, requests)
                out.setdefault((task.get("taskInfo") or {}).get("name") or name, requests)
    return out


def _float(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
