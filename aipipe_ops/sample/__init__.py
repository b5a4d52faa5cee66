"""The sample fleet: an MLMD store, a GKE detailed billing export and their ground truth, consistent end to end.

`generate_fleet(out, runs, days, seed)` writes DIR/mlmd.sqlite, DIR/billing/part-*.parquet|jsonl,
DIR/ground_truth.json and DIR/fleet.json (layout and formats: docs/sample-fleet.md).
"""

from aipipe_ops.sample.defaults import DEFAULT_START

__all__ = ["DEFAULT_START", "FleetSummary", "generate_fleet"]


def __getattr__(name: str):
    # The writers pull in pyarrow and ml-metadata: import them on first use, not with the package.
    if name in ("FleetSummary", "generate_fleet"):
        from aipipe_ops.sample import generate

        return getattr(generate, name)
    raise AttributeError(name)
