"""Lineage: read MLMD stores written by KFP (v1, v2) and TFX, read-only, into the workspace; answer provenance,
impact and run questions; audit what the lineage shows.

    sources/    where lineage is read from (MLMD over sqlite, mysql, grpc), found by URI scheme
    orchestrators/  how each orchestrator wrote it, mapped onto runs/steps/artifacts/events
    kinds.py    the closed artifact `kind` vocabulary
    snapshot.py incremental, all-or-nothing copy into the workspace
    graph.py    upstream / downstream / run queries (and the interface billing uses)
    views/      tree, Mermaid, DOT
    audit/      findings, the rule registry and one file per rule
    commands.py the `aipipe lineage ...` and `aipipe audit` commands
"""
