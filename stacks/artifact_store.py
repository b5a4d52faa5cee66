"""The GCS bucket holding the KFP pipeline root, and who may touch it.

Uniform bucket-level access (no object ACLs), public access prevention enforced, a lifecycle rule
that deletes artifacts after `artifactRetentionDays`, and no soft-delete window: objects the lifecycle
deletes would otherwise be billed for 7 more days. Access is granted on the bucket, not the project:
the pipeline runner may read and write objects, the UI may read them.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from stacks.config import StackConfig

PIPELINE_ROOT_PREFIX = "pipeline-root"


class ArtifactStore(pulumi.ComponentResource):
    bucket: gcp.storage.Bucket
    pipeline_root: pulumi.Output[str]

    def __init__(self, name: str, cfg: StackConfig, runner_member: pulumi.Input[str],
                 ui_member: pulumi.Input[str], labels: dict[str, str], opts: pulumi.ResourceOptions | None = None):
        super().__init__("aipipe:kfp:ArtifactStore", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.bucket = gcp.storage.Bucket(
            "pipeline-root", name=cfg.pipeline_root_bucket, project=cfg.project,
            # Same region as the nodes: no cross-region egress on every artifact read.
            location=cfg.region.upper(), storage_class="STANDARD",
            uniform_bucket_level_access=True, public_access_prevention="enforced",
            lifecycle_rules=[{"action": {"type": "Delete"},
                              "condition": {"age": cfg.artifact_retention_days}}],
            soft_delete_policy={"retention_duration_seconds": 0},
            # A throwaway stack's destroy also empties the bucket; a protected one refuses instead.
            force_destroy=not cfg.deletion_protection,
            labels=labels, opts=child)
        gcp.storage.BucketIAMMember("runner-object-admin", bucket=self.bucket.name,
                                    role="roles/storage.objectAdmin", member=runner_member, opts=child)
        gcp.storage.BucketIAMMember("ui-object-viewer", bucket=self.bucket.name,
                                    role="roles/storage.objectViewer", member=ui_member, opts=child)
        self.pipeline_root = self.bucket.name.apply(lambda b: f"gs://{b}/{PIPELINE_ROOT_PREFIX}")
        self.register_outputs({"bucket": self.bucket.name, "pipelineRoot": self.pipeline_root})
