"""The closed vocabularies of the workspace tables, in one place: every writer uses these words and every reader
can rely on them. Imports nothing of aipipe's (DESIGN.md "Data contracts")."""

from __future__ import annotations

# runs.state, as the lineage writes it (lineage/orchestrators/derivations.py derives it from the steps).
RUN_STATES = ("SUCCEEDED", "FAILED", "CANCELED", "RUNNING", "UNKNOWN")
TERMINAL_RUN_STATES = ("SUCCEEDED", "FAILED", "CANCELED")
FAILED_RUN_STATES = ("FAILED",)
ACTIVE_RUN_STATES = ("RUNNING",)

# steps.state: MLMD's Execution.State names, kept as the store wrote them.
STEP_STATES = ("UNKNOWN", "NEW", "RUNNING", "COMPLETE", "FAILED", "CACHED", "CANCELED")
ACTIVE_STEP_STATES = ("NEW", "RUNNING")

# events.direction: an output of a cached execution is `reuse` (it points at an earlier producer's artifact).
EVENT_DIRECTIONS = ("input", "output", "reuse", "pending", "unknown")

# artifacts.kind (lineage/kinds.py maps each orchestrator's type names onto it).
ARTIFACT_KINDS = (
    "dataset", "model", "blessing", "pushed_model", "metrics", "statistics", "schema", "anomalies", "transform",
    "other",
)

# cost_lines.resource_kind (billing/resource_kinds.py derives it from the service and SKU description).
RESOURCE_KINDS = ("cpu", "ram", "gpu", "tpu", "disk", "network", "cluster_fee", "other")

# Attribution buckets: what runs carry, then what stays in a bucket of its own. Together they hold every cent.
ATTRIBUTED_BUCKETS = ("direct", "idle_share", "overhead_share", "shared")
# commitment: fees kept whole (--commitments separate); unused_commitment: what no usage absorbed (amortize).
LEFTOVER_BUCKETS = ("idle", "overhead", "commitment", "unused_commitment", "unattributed")
BUCKETS = ATTRIBUTED_BUCKETS + LEFTOVER_BUCKETS
