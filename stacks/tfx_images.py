"""Pre-pull the TFX image onto the pools that run TFX steps.

A TFX step runs `gcr.io/tfx-oss-public/tfx:<version>` (several GB). Without a cached copy every new
node pulls it at the start of its first step, and on a GPU node those minutes are billed at GPU
rates. A DaemonSet whose init container is the TFX image makes each matching node pull it once when
the node joins; its only long-lived container is `pause`, requesting almost nothing.

Limitation: on a pool scaled from zero the pre-pull runs in parallel with the step that caused the
scale-up, so it saves the pull for later steps on that node, not the first one. Image streaming
(enabled on every pool) helps the first one when the image is mirrored into Artifact Registry.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from stacks.node_pools import GPU_TAINT, TPU_TAINT

NAMESPACE = "aipipe-system"
APP_LABEL = {"app.kubernetes.io/name": "tfx-image-prepull", "app.kubernetes.io/part-of": "aipipe"}
PAUSE_IMAGE = "registry.k8s.io/pause:3.10"
NODE_POOL_LABEL = "cloud.google.com/gke-nodepool"

_RESTRICTED = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "runAsUser": 65534,
    "capabilities": {"drop": ["ALL"]},
}


def prepull_daemonset_spec(image: str, pools: list[str], labels: dict[str, str]) -> dict:
    return {
        "selector": {"matchLabels": APP_LABEL},
        # Every node pulls at once on a version change; nothing is serving, so nothing to protect.
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "100%"}},
        "template": {
            # Cost labels on the Pods too: GKE cost allocation attributes by Pod label.
            "metadata": {"labels": {**labels, **APP_LABEL}},
            "spec": {
                "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchExpressions": [
                        {"key": NODE_POOL_LABEL, "operator": "In", "values": pools}]}]}}},
                "tolerations": [
                    {"key": GPU_TAINT["key"], "operator": "Exists", "effect": "NoSchedule"},
                    {"key": TPU_TAINT["key"], "operator": "Exists", "effect": "NoSchedule"},
                ],
                "automountServiceAccountToken": False,
                "terminationGracePeriodSeconds": 0,
                "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                "initContainers": [{
                    "name": "pull-tfx",
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["/bin/sh", "-c", "exit 0"],
                    "securityContext": _RESTRICTED,
                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}},
                }],
                "containers": [{
                    "name": "pause",
                    "image": PAUSE_IMAGE,
                    "securityContext": _RESTRICTED,
                    "resources": {"requests": {"cpu": "1m", "memory": "8Mi"}, "limits": {"memory": "16Mi"}},
                }],
            },
        },
    }


class TfxImagePrepull(pulumi.ComponentResource):
    def __init__(self, name: str, *, image: str, pools: list[str], labels: dict[str, str],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("aipipe:kfp:TfxImagePrepull", name, None, opts)
        namespace = k8s.core.v1.Namespace(
            NAMESPACE,
            metadata={"name": NAMESPACE, "labels": {
                **labels, "pod-security.kubernetes.io/enforce": "restricted"}},
            opts=pulumi.ResourceOptions(parent=self))
        k8s.apps.v1.DaemonSet(
            "tfx-image-prepull",
            metadata={"name": "tfx-image-prepull", "namespace": NAMESPACE,
                      "labels": {**labels, **APP_LABEL}},
            spec=prepull_daemonset_spec(image, pools, labels),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace]))
        self.register_outputs({"image": image, "pools": pools})
