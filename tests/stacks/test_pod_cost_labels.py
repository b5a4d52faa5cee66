"""The pod cost-label admission policy: its CEL evaluated by a real CEL implementation (cel-python) against pods
shaped as the KFP backend makes them, and its place in the stacks' resource graph.

Pod shapes (kubeflow/pipelines backend, facts): the API server labels every workflow pod `pipeline/runid`
(util.LabelKeyWorkflowRunId); the v2 compiler puts `pipelines.kubeflow.org/v2_component: "true"` on every pod
(label and annotation, argocompiler/argo.go) and `pipelines.kubeflow.org/runtime-role` on templates
(argocompiler/common.go); Argo adds the `workflows.argoproj.io/workflow` label and the
`workflows.argoproj.io/node-name` annotation, e.g. "retry-e2e-pzhkb.root.always-fail.executor(4)"
(component/launcher_v2.go tests); a container task is a `<task>-driver` node then a `<task>` DAG whose
`executor` step runs the user code (argocompiler/dag.go, container.go); a cached task stops at its driver.
"""

from __future__ import annotations

import re

import celpy
import pytest
import yaml
from celpy import celtypes
from stack_helpers import EXAMPLE_STACKS  # noqa: F401  (puts the project on sys.path)

from aipipe_ops.pipeline_labels import ENV_FIELDS, cloud_job_labels
from stacks import pod_cost_labels_cel as cel
from stacks.pod_cost_labels import POLICY_NAME, manifests, manifests_yaml

RUN_ID = "123e4567-e89b-12d3-a456-426655440000"
WORKFLOW = "penguin-training-x7k2q"

# cel-python implements the standard CEL definitions only; Kubernetes also enables the cel-go strings extension
# and its regex library. These are Python versions of exactly the four extension functions the policy uses,
# with cel-go's semantics (code-point indices; find returns "" when nothing matches).


def _split(s, sep):
    return celtypes.ListType([celtypes.StringType(p) for p in str(s).split(str(sep))])


def _substring(s, start, end=None):
    s, start = str(s), int(start)
    end = len(s) if end is None else int(end)
    if not 0 <= start <= end <= len(s):
        raise ValueError(f"substring({start}, {end}) out of range for {s!r}")
    return celtypes.StringType(s[start:end])


def _last_index_of(s, sub):
    return celtypes.IntType(str(s).rfind(str(sub)))


def _find(s, pattern):
    match = re.search(str(pattern), str(s))
    return celtypes.StringType(match.group(0) if match else "")


EXTENSIONS = {"split": _split, "substring": _substring, "lastIndexOf": _last_index_of, "find": _find}
assert set(EXTENSIONS) == set(cel.EXTENSION_FUNCTIONS)


class JSONPatch(celtypes.MessageType):
    """Kubernetes' JSONPatch object type, as the mutation builds it."""


class TypeName(celtypes.MapType):
    """Kubernetes' ApplyConfiguration type names (`Object`, `Object.spec.containers`, ...): selecting a field
    names the nested type, braces build a value of it."""

    def __init__(self, path: str):
        super().__init__()
        self.path = path

    def __getitem__(self, key):
        return TypeName(f"{self.path}.{key}")

    def __contains__(self, key):
        return True

    def get(self, key, default=None):
        return self[key]

    def __call__(self, fields):
        return celtypes.MessageType(fields or {})


ENV = celpy.Environment()


def _program(expression: str):
    return ENV.program(ENV.compile(expression), functions=EXTENSIONS)


PROGRAMS = {name: _program(expr) for name, expr in cel.VARIABLES}
MATCH = [_program(expr) for _, expr in cel.MATCH_CONDITIONS]
MUTATION = _program(cel.MUTATION)
ENV_MUTATION = _program(cel.ENV_MUTATION)


def _plain(value):
    """A CEL value as plain Python (str / int / list / dict)."""
    if isinstance(value, (celtypes.MapType, celtypes.MessageType, dict)):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (celtypes.ListType, list)):
        return [_plain(v) for v in value]
    return str(value)


def _merge_env(containers: list[dict], apply: dict) -> list[dict]:
    """Server-side-apply merge of the patch's containers and env, both lists keyed by name."""
    merged = [dict(c, env=list(c.get("env", []))) for c in containers]
    by_name = {c["name"]: c for c in merged}
    for patch in apply.get("spec", {}).get("containers", []):
        container = by_name[patch["name"]]  # the patch only names containers the pod has
        names = {e["name"] for e in container["env"]}
        for entry in patch.get("env", []):
            assert entry["name"] not in names  # never replaces a variable the container defines
            container["env"].append(entry)
    return merged


def admit_containers(pod: dict) -> tuple[dict, list[dict]]:
    """The pod's labels and containers after both mutations of the policy."""
    labels, _ = admit(pod)
    if not all(program.evaluate({"object": celpy.json_to_cel(pod)}) for program in MATCH):
        return labels, pod["spec"].get("containers", [])
    activation = {"object": celpy.json_to_cel(pod), "Object": TypeName("Object"), "JSONPatch": JSONPatch}
    variables = {}
    for name, program in PROGRAMS.items():
        activation["variables"] = celtypes.MapType({celtypes.StringType(k): v for k, v in variables.items()})
        variables[name] = program.evaluate(activation)
    activation["variables"] = celtypes.MapType({celtypes.StringType(k): v for k, v in variables.items()})
    return labels, _merge_env(pod["spec"]["containers"], _plain(ENV_MUTATION.evaluate(activation)))


def downward_env(container: dict, labels: dict) -> dict:
    """The environment the kubelet gives the container: fieldRef metadata.labels['k'] reads the admitted labels
    ("" when absent)."""
    out = {}
    for entry in container.get("env", []):
        if "value" in entry:
            out[entry["name"]] = entry["value"]
            continue
        path = entry["valueFrom"]["fieldRef"]["fieldPath"]
        match = re.fullmatch(r"metadata\.labels\['([^']+)'\]", path)
        assert match, path
        out[entry["name"]] = labels.get(match.group(1), "")
    return out


def admit(pod: dict) -> tuple[dict, list[dict]]:
    """The pod's labels after the policy, and the patch; the pod itself is not changed."""
    activation = {"object": celpy.json_to_cel(pod), "JSONPatch": JSONPatch}
    labels = dict(pod["metadata"].get("labels") or {})
    if not all(program.evaluate(activation) for program in MATCH):
        return labels, []
    variables = {}
    for name, program in PROGRAMS.items():
        activation["variables"] = celtypes.MapType({celtypes.StringType(k): v for k, v in variables.items()})
        variables[name] = program.evaluate(activation)
    activation["variables"] = celtypes.MapType({celtypes.StringType(k): v for k, v in variables.items()})
    patch = [{str(k): str(v) for k, v in op.items()} for op in MUTATION.evaluate(activation)]
    for op in patch:  # apply the JSONPatch
        assert op["op"] == "add" and op["path"].startswith("/metadata/labels/")
        key = op["path"].removeprefix("/metadata/labels/").replace("~1", "/").replace("~0", "~")
        assert key not in labels
        labels[key] = op["value"]
    return labels, patch


def kfp_pod(node_name: str, *, workflow: str = WORKFLOW, run_id: str | None = RUN_ID, role: str = "executor",
            extra_labels: dict | None = None) -> dict:
    """A pod as Argo creates it for a KFP v2 run (labels/annotations only: the policy reads nothing else)."""
    labels = {"workflows.argoproj.io/workflow": workflow, "pipelines.kubeflow.org/v2_component": "true",
              "workflows.argoproj.io/completed": "false"}
    if run_id:
        labels["pipeline/runid"] = run_id
    labels.update(extra_labels or {})
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"{workflow}-system-container-impl-1234567890", "namespace": "kubeflow",
                         "labels": labels,
                         "annotations": {"workflows.argoproj.io/node-name": node_name,
                                         "pipelines.kubeflow.org/v2_component": "true",
                                         "pipelines.kubeflow.org/runtime-role": role,
                                         "sidecar.istio.io/inject": "false"}},
            "spec": {"containers": [{"name": "main", "image": "python:3.11"}]}}


def cost_labels(labels: dict) -> dict:
    return {k: v for k, v in labels.items() if k.startswith("aipipe/")}


def test_v2_executor_pod():
    labels, _ = admit(kfp_pod(f"{WORKFLOW}.root.train-model.executor"))
    assert cost_labels(labels) == {"aipipe/pipeline": "penguin-training", "aipipe/step": "train-model",
                                   "aipipe/run": RUN_ID}


def test_v2_driver_pod_and_cached_task():
    # A cached task runs its driver only: the driver pod carries the step's labels.
    labels, _ = admit(kfp_pod(f"{WORKFLOW}.root.train-model-driver", role="driver"))
    assert cost_labels(labels) == {"aipipe/pipeline": "penguin-training", "aipipe/step": "train-model",
                                   "aipipe/run": RUN_ID}


def test_retried_task_keeps_its_step():
    labels, _ = admit(kfp_pod("retry-e2e-pzhkb.root.always-fail.executor(4)", workflow="retry-e2e-pzhkb"))
    assert cost_labels(labels) == {"aipipe/pipeline": "retry-e2e", "aipipe/step": "always-fail", "aipipe/run": RUN_ID}


def test_task_in_a_sub_dag():
    labels, _ = admit(kfp_pod(f"{WORKFLOW}.root.for-loop-2.trainer.executor"))
    assert labels["aipipe/step"] == "trainer"


def test_tfx_on_kfp_pods():
    # TFX's KubeflowV2DagRunner compiles to KFP v2 IR: component ids become task names.
    labels, _ = admit(kfp_pod("penguin-tfx-4mz8w.root.StatisticsGen.executor", workflow="penguin-tfx-4mz8w"))
    assert cost_labels(labels) == {"aipipe/pipeline": "penguin-tfx", "aipipe/step": "StatisticsGen",
                                   "aipipe/run": RUN_ID}
    # TFX's (KFP v1) KubeflowDagRunner: one Argo step per component, node "<workflow>.<component>".
    v1 = kfp_pod("penguin-tfx-4mz8w.statisticsgen", workflow="penguin-tfx-4mz8w")
    del v1["metadata"]["labels"]["pipelines.kubeflow.org/v2_component"]
    labels, _ = admit(v1)
    assert labels["aipipe/step"] == "statisticsgen"


def test_bare_argo_run_uses_the_workflow_as_run():
    labels, _ = admit(kfp_pod(f"{WORKFLOW}.root.train.executor", run_id=None))
    assert labels["aipipe/run"] == WORKFLOW


def test_an_existing_label_is_never_overwritten():
    labels, patch = admit(kfp_pod(f"{WORKFLOW}.root.train-model.executor", extra_labels={"aipipe/step": "mine"}))
    assert labels["aipipe/step"] == "mine"
    assert [op["path"] for op in patch] == ["/metadata/labels/aipipe~1pipeline", "/metadata/labels/aipipe~1run"]


def test_a_long_step_name_is_sanitised_to_63_characters():
    step = "preprocess-" + "very-long-component-name-" * 4 + "x"
    labels, _ = admit(kfp_pod(f"{WORKFLOW}.root.{step}.executor"))
    value = labels["aipipe/step"]
    assert len(value) <= 63 and value == step[:len(value)]
    assert re.fullmatch(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?", value)
    # A cut that would end on "-" ends on the last alphanumeric before it.
    assert not value.endswith("-")


def test_invalid_characters_end_the_value():
    labels, _ = admit(kfp_pod(f"{WORKFLOW}.root.-train model.executor"))
    assert labels["aipipe/step"] == "train"


@pytest.mark.parametrize("existing, added", [(46, 3), (47, 3), (48, 0), (50, 0)])
def test_the_gke_label_limit_is_never_passed(existing, added):
    pod = kfp_pod(f"{WORKFLOW}.root.train.executor")
    base = len(pod["metadata"]["labels"])
    pod["metadata"]["labels"].update({f"team.example.com/l{i}": "x" for i in range(existing - base)})
    labels, patch = admit(pod)
    assert len(patch) == added
    assert len(labels) <= cel.GKE_POD_LABEL_LIMIT


def test_pods_outside_an_argo_workflow_are_left_alone():
    pod = {"metadata": {"name": "ml-pipeline-ui-0", "labels": {"app": "ml-pipeline-ui"}}, "spec": {}}
    assert admit(pod) == ({"app": "ml-pipeline-ui"}, [])
    assert admit({"metadata": {"name": "bare"}, "spec": {}}) == ({}, [])
    pod["spec"]["containers"] = [{"name": "ui", "image": "ui"}]
    assert admit_containers(pod)[1] == [{"name": "ui", "image": "ui"}]


def test_every_container_gets_the_labels_as_downward_api_env_for_cloud_jobs():
    pod = kfp_pod(f"{WORKFLOW}.root.export-to-bq.executor")
    pod["spec"]["containers"] = [{"name": "wait", "image": "argoexec"},
                                 {"name": "main", "image": "python:3.11", "env": [{"name": "X", "value": "1"}]}]
    labels, containers = admit_containers(pod)
    for container in containers:
        env = downward_env(container, labels)
        assert cloud_job_labels(env, include_vertex=False) == {
            "aipipe-pipeline": "penguin-training", "aipipe-step": "export-to-bq", "aipipe-run": RUN_ID}
    assert downward_env(containers[1], labels)["X"] == "1"
    assert [e["name"] for e in containers[1]["env"]] == ["X", *ENV_FIELDS]


def test_a_variable_the_container_defines_is_kept():
    pod = kfp_pod(f"{WORKFLOW}.root.train.executor")
    pod["spec"]["containers"][0]["env"] = [{"name": "AIPIPE_STEP", "value": "my-step"}]
    labels, (container,) = admit_containers(pod)
    env = downward_env(container, labels)
    assert env["AIPIPE_STEP"] == "my-step" and env["AIPIPE_RUN"] == RUN_ID
    assert [e["name"] for e in container["env"]].count("AIPIPE_STEP") == 1
    # A container defining all of them is not in the patch at all.
    pod["spec"]["containers"][0]["env"] = [{"name": n, "value": "v"} for n in ENV_FIELDS]
    _, (container,) = admit_containers(pod)
    assert container["env"] == [{"name": n, "value": "v"} for n in ENV_FIELDS]


def test_the_manifests_render_to_applyable_yaml():
    policy, binding = yaml.safe_load_all(manifests_yaml(["kubeflow"]))
    assert policy["apiVersion"] == binding["apiVersion"] == "admissionregistration.k8s.io/v1"
    assert policy["kind"] == "MutatingAdmissionPolicy" and binding["kind"] == "MutatingAdmissionPolicyBinding"
    assert binding["spec"]["policyName"] == policy["metadata"]["name"] == POLICY_NAME
    spec = policy["spec"]
    assert spec["failurePolicy"] == "Ignore"
    assert spec["matchConstraints"]["namespaceSelector"]["matchExpressions"][0]["values"] == ["kubeflow"]
    assert [v["name"] for v in spec["variables"]] == [name for name, _ in cel.VARIABLES]
    assert spec["mutations"][0]["jsonPatch"]["expression"] == cel.MUTATION
    assert spec["mutations"][1] == {"patchType": "ApplyConfiguration",
                                    "applyConfiguration": {"expression": cel.ENV_MUTATION}}
    assert manifests(["b", "a", "a"])[0]["spec"]["matchConstraints"]["namespaceSelector"][
        "matchExpressions"][0]["values"] == ["a", "b"]


def test_the_stack_installs_the_policy_and_its_binding(example):
    by_type = {}
    for r in example.resources:
        by_type.setdefault(r.type, []).append(r)
    (component,) = by_type["aipipe:kubeflow:PodCostLabels"]
    kinds = sorted(r.inputs.get("kind") for r in example.resources
                   if r.type.startswith("kubernetes:admissionregistration.k8s.io/v1:"))
    assert kinds == ["MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding"]
    children = [r for r in example.resources if r.parent == component.urn]
    assert len(children) == 2
