"""Cost labels on every pod of a KFP run: a MutatingAdmissionPolicy and its binding.

Every pod Argo creates for a KFP run gets `aipipe/pipeline`, `aipipe/step` and `aipipe/run`, derived in CEL
(stacks/pod_cost_labels_cel.py) from the labels and annotations KFP and Argo already put on it. GKE cost
allocation copies pod labels into the billing export as `k8s-label/aipipe/step` etc., so a step's cost is read,
not guessed. It also gives every container the labels as downward-API environment variables, for
`aipipe_ops.pipeline_labels.cloud_job_labels()` in the step's code. MutatingAdmissionPolicy is `admissionregistration.k8s.io/v1` from Kubernetes 1.36 (GA);
pulumi-kubernetes 4.34 has no typed class for the v1 kinds, so they are CustomResources.

`manifests()` / `manifests_yaml()` render the same two objects for a cluster aipipe did not create
(`kubectl apply -f`), see docs/provisioning.md "Cost labels on pipeline pods".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

from stacks import pod_cost_labels_cel as cel
from stacks.config import MIN_GKE_VERSION

API_VERSION = "admissionregistration.k8s.io/v1"
POLICY_NAME = "aipipe-pod-cost-labels"
MIN_KUBERNETES = MIN_GKE_VERSION  # MutatingAdmissionPolicy GA; config.py refuses an older aipipe:minMasterVersion


def _namespace_selector(namespaces: Sequence[str]) -> dict[str, Any]:
    return {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In",
                                  "values": sorted(set(namespaces))}]}


def policy_spec(namespaces: Sequence[str]) -> dict[str, Any]:
    return {
        # A label is bookkeeping: never block a pipeline pod because the policy failed.
        "failurePolicy": "Ignore",
        "reinvocationPolicy": "Never",
        "matchConstraints": {
            "namespaceSelector": _namespace_selector(namespaces),
            "resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"],
                               "resources": ["pods"]}],
        },
        "matchConditions": [{"name": name, "expression": expr} for name, expr in cel.MATCH_CONDITIONS],
        "variables": [{"name": name, "expression": expr} for name, expr in cel.VARIABLES],
        "mutations": [{"patchType": "JSONPatch", "jsonPatch": {"expression": cel.MUTATION}},
                      {"patchType": "ApplyConfiguration", "applyConfiguration": {"expression": cel.ENV_MUTATION}}],
    }


def binding_spec(namespaces: Sequence[str]) -> dict[str, Any]:
    return {"policyName": POLICY_NAME, "matchResources": {"namespaceSelector": _namespace_selector(namespaces)}}


def manifests(namespaces: Sequence[str], labels: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """The policy and its binding as Kubernetes objects (`labels`: the stack's own cost labels on them)."""
    metadata = {"name": POLICY_NAME, **({"labels": dict(labels)} if labels else {})}
    return [
        {"apiVersion": API_VERSION, "kind": "MutatingAdmissionPolicy", "metadata": dict(metadata),
         "spec": policy_spec(namespaces)},
        {"apiVersion": API_VERSION, "kind": "MutatingAdmissionPolicyBinding", "metadata": dict(metadata),
         "spec": binding_spec(namespaces)},
    ]


def manifests_yaml(namespaces: Sequence[str], labels: Mapping[str, str] | None = None) -> str:
    """`kubectl apply -f -` input for a cluster aipipe did not create."""
    return yaml.safe_dump_all(manifests(namespaces, labels), sort_keys=False, width=120)


class PodCostLabels(pulumi.ComponentResource):
    policy: k8s.apiextensions.CustomResource
    binding: k8s.apiextensions.CustomResource

    def __init__(self, name: str, namespaces: Sequence[str], labels: Mapping[str, str] | None = None,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("aipipe:kubeflow:PodCostLabels", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        policy, binding = manifests(namespaces, labels)
        self.policy = k8s.apiextensions.CustomResource(
            "policy", api_version=policy["apiVersion"], kind=policy["kind"], metadata=policy["metadata"],
            spec=policy["spec"], opts=child)
        self.binding = k8s.apiextensions.CustomResource(
            "binding", api_version=binding["apiVersion"], kind=binding["kind"], metadata=binding["metadata"],
            spec=binding["spec"], opts=pulumi.ResourceOptions(parent=self, depends_on=[self.policy]))
        self.register_outputs({"policy": POLICY_NAME})
