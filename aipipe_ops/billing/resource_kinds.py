"""Resource kind of an export row from its service and SKU description: cpu, ram, gpu, tpu, disk, network,
cluster_fee or other. One ordered rule list, rendered as a SQL CASE that DuckDB and BigQuery both run.

Order matters: "Nvidia L4 GPU attached to Spot Preemptible VMs" is gpu before anything matches "VM";
"Autopilot Pod Memory Requests" is ram; commitment fees ("Commitment v1: A2 Cpu ...") take the kind they commit.
"""

from __future__ import annotations

from aipipe_ops.vocabulary import RESOURCE_KINDS as KINDS

# (kind, substrings of the lower-cased SKU description; service condition or None)
RULES: tuple[tuple[str, tuple[str, ...], str | None], ...] = (
    ("cluster_fee", ("kubernetes clusters", "cluster management"), "kubernetes engine"),
    ("gpu", ("gpu", "nvidia"), None),
    ("tpu", ("tpu",), None),
    ("cpu", ("core", "cpu"), None),  # before ram: "Memory-optimized Instance Core" is cpu
    ("ram", ("ram", "memory"), None),
    ("disk", ("pd capacity", "storage", "disk", "ssd", "hyperdisk", "snapshot"), None),
    ("network", ("egress", "ingress", "network", "load balanc", "ip address", "nat gateway"), None),
)


def kind_of(service: str | None, sku: str | None) -> str:
    """The rule list applied in Python (for tests and small lookups)."""
    s, d = (service or "").lower(), (sku or "").lower()
    for kind, needles, service_needle in RULES:
        if service_needle and service_needle not in s:
            continue
        if any(n in d for n in needles):
            return kind
    return "other"


def kind_case_sql(service_expr: str, sku_expr: str) -> str:
    """The same rules as a CASE expression; LOWER, LIKE and string literals mean the same in both engines."""
    parts = []
    for kind, needles, service_needle in RULES:
        cond = " OR ".join(f"LOWER({sku_expr}) LIKE '%{n}%'" for n in needles)
        if service_needle:
            cond = f"LOWER({service_expr}) LIKE '%{service_needle}%' AND ({cond})"
        parts.append(f"WHEN {cond} THEN '{kind}'")
    return "CASE " + " ".join(parts) + " ELSE 'other' END"
