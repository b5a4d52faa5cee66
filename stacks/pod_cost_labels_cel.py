"""The CEL of the pod cost-label admission policy (stacks/pod_cost_labels.py), kept apart so tests can evaluate it.

A pod of a KFP run already carries (kubeflow/pipelines backend, facts from its compiler and API server):
- label `workflows.argoproj.io/workflow` = the Argo Workflow's name, `<pipeline name>-<5 random chars>`
  (the compiler's generateName is the pipeline name plus "-", argocompiler/argo.go);
- label `pipeline/runid` = the KFP run UUID (apiserver, util.LabelKeyWorkflowRunId), absent on a bare Argo run;
- label and annotation `pipelines.kubeflow.org/v2_component: "true"` on v2 pods;
- annotation `workflows.argoproj.io/node-name`, the Argo node path:
    `<workflow>.root.<task>-driver`          KFP v2 driver pod (the only pod of a cached task)
    `<workflow>.root.<task>.executor`        KFP v2 executor pod
    `<workflow>.root.<task>.executor(3)`     a retried executor (Argo appends the 0-based retry index)
    `<workflow>.root.<dag>.<task>.executor`  a task inside a sub-DAG
    `<workflow>.<task>(0)` / `<workflow>.<task>` KFP v1 / TFX KubeflowDagRunner pods.
The policy also gives every container of such a pod the environment variables of `ENV_FIELDS`
(aipipe_ops/pipeline_labels.py), each read from one pod label through the downward API (a fieldRef env var can
name one label, not all of them), so code in a step can label the cloud jobs it launches with
`cloud_job_labels()`. The kubelet resolves the fieldRef when the container starts, after admission, so it sees the
labels this policy added; a label the pod lacks reads as "". A variable the container already defines is kept.

The step is the last node-path segment once the retry suffix, the `executor` segment and the `-driver` suffix
are gone. The pipeline is the workflow name without Argo's random suffix; the run is `pipeline/runid`, else the
workflow name.

Values are sanitised to label value rules by keeping the first run of allowed characters that starts and ends
alphanumeric, at most 63 long; an empty result adds no label. A label the pod already has is never replaced,
and nothing is added when it would take the pod past GKE cost allocation's limit (a pod with more than 50 labels
loses all of them in the billing export).

The environment is an ApplyConfiguration mutation: containers and env are lists keyed by name, so the patch
merges one env entry per missing variable into each container by name, without knowing container indices
(a JSONPatch would need them). It builds Kubernetes' typed `Object.spec.containers...` values; the tests give
cel-python a stand-in for those type names.

CEL functions used beyond the standard definitions: `split`, `substring`, `lastIndexOf` (the cel-go strings
extension Kubernetes enables) and `find` (Kubernetes' regex library). cel-python implements only the standard
definitions, so the tests register Python implementations of exactly these four (tests/stacks/
test_pod_cost_labels.py); everything else is standard CEL, evaluated by cel-python as written.
"""

from __future__ import annotations

from aipipe_ops.pipeline_labels import ENV_FIELDS

PIPELINE_LABEL = "aipipe/pipeline"
STEP_LABEL = "aipipe/step"
RUN_LABEL = "aipipe/run"
COST_LABEL_KEYS = (PIPELINE_LABEL, STEP_LABEL, RUN_LABEL)

# GKE cost allocation drops every label of a pod that has more than this many (2026-updates.md §2).
GKE_POD_LABEL_LIMIT = 50

WORKFLOW_LABEL = "workflows.argoproj.io/workflow"
RUN_ID_LABEL = "pipeline/runid"
NODE_NAME_ANNOTATION = "workflows.argoproj.io/node-name"

EXTENSION_FUNCTIONS = ("split", "substring", "lastIndexOf", "find")

# A valid label value: alphanumeric at both ends, [A-Za-z0-9._-] between, 63 characters at most.
_LABEL_VALUE_RE = "[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"


def _sanitised(expr: str) -> str:
    return f"({expr}).find('{_LABEL_VALUE_RE}')"


def _missing(key: str, var: str) -> str:
    return f"(!('{key}' in variables.labels) && variables.{var} != '')"


# Evaluated in order; each may read the ones before it as `variables.<name>`.
VARIABLES: tuple[tuple[str, str], ...] = (
    ("labels", "has(object.metadata.labels) ? object.metadata.labels : {}"),
    ("annotations", "has(object.metadata.annotations) ? object.metadata.annotations : {}"),
    ("workflow", f"'{WORKFLOW_LABEL}' in variables.labels ? variables.labels['{WORKFLOW_LABEL}'] : ''"),
    ("nodeName", f"'{NODE_NAME_ANNOTATION}' in variables.annotations ? "
                 f"variables.annotations['{NODE_NAME_ANNOTATION}'] : ''"),
    # The node path without Argo's retry suffix "(N)", split into segments.
    ("nodePath", "(variables.nodeName.matches('[(][0-9]+[)]$') ? "
                 "variables.nodeName.substring(0, variables.nodeName.lastIndexOf('(')) : "
                 "variables.nodeName).split('.')"),
    ("lastSegment", "variables.nodePath[size(variables.nodePath) - 1]"),
    ("stepName", "size(variables.nodePath) < 2 ? '' : "
                 "(variables.lastSegment == 'executor' && size(variables.nodePath) >= 3) ? "
                 "variables.nodePath[size(variables.nodePath) - 2] : "
                 "variables.lastSegment.endsWith('-driver') ? "
                 "variables.lastSegment.substring(0, size(variables.lastSegment) - 7) : variables.lastSegment"),
    ("pipeline", _sanitised("variables.workflow.matches('-[a-z0-9]{5}$') ? "
                            "variables.workflow.substring(0, size(variables.workflow) - 6) : variables.workflow")),
    ("step", _sanitised("variables.stepName")),
    ("run", _sanitised(f"'{RUN_ID_LABEL}' in variables.labels ? variables.labels['{RUN_ID_LABEL}'] : "
                       "variables.workflow")),
    ("addPipeline", _missing(PIPELINE_LABEL, "pipeline")),
    ("addStep", _missing(STEP_LABEL, "step")),
    ("addRun", _missing(RUN_LABEL, "run")),
    ("fits", "size(variables.labels) + (variables.addPipeline ? 1 : 0) + (variables.addStep ? 1 : 0) + "
             f"(variables.addRun ? 1 : 0) <= {GKE_POD_LABEL_LIMIT}"),
)

# Only pods of an Argo workflow (every KFP run pod) are mutated.
MATCH_CONDITIONS: tuple[tuple[str, str], ...] = (
    ("argo-workflow-pod", f"has(object.metadata.labels) && '{WORKFLOW_LABEL}' in object.metadata.labels"),
)


def _patch(key: str, var: str, flag: str) -> str:
    path = "/metadata/labels/" + key.replace("~", "~0").replace("/", "~1")
    return (f"(variables.{flag} ? [JSONPatch{{op: 'add', path: '{path}', value: variables.{var}}}] : [])")


# The JSONPatch list: the missing cost labels, or nothing when they would not fit under the limit.
# The match condition guarantees /metadata/labels exists, so `add` under it is valid.
MUTATION = ("!variables.fits ? [] : " + " + ".join((
    _patch(PIPELINE_LABEL, "pipeline", "addPipeline"),
    _patch(STEP_LABEL, "step", "addStep"),
    _patch(RUN_LABEL, "run", "addRun"),
)))


def _env_entry(var: str) -> str:
    env = "Object.spec.containers.env"
    return (f"{env}{{name: {var}, valueFrom: {env}.valueFrom{{fieldRef: {env}.valueFrom.fieldRef{{"
            f"fieldPath: variables.envFields[{var}]}}}}}}")


# Downward-API env var name -> the pod field it reads (see the module docstring).
ENV_VARIABLES: tuple[tuple[str, str], ...] = (
    ("envFields", "{" + ", ".join(f"'{name}': \"{path}\"" for name, path in ENV_FIELDS.items()) + "}"),
    ("envNames", "[" + ", ".join(f"'{name}'" for name in ENV_FIELDS) + "]"),
)
VARIABLES = VARIABLES + ENV_VARIABLES

_MISSING_ENV = "variables.envNames.filter(n, !(has(c.env) && c.env.exists(e, e.name == n)))"

# ApplyConfiguration: for each container that lacks some of the variables, an entry with just those.
ENV_MUTATION = (
    "Object{spec: Object.spec{containers: object.spec.containers"
    f".filter(c, size({_MISSING_ENV}) > 0)"
    f".map(c, Object.spec.containers{{name: c.name, env: {_MISSING_ENV}.map(n, {_env_entry('n')})}})}}}}"
)
