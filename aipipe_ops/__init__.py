"""aipipe_ops: lineage, billing, attribution and pricing engine behind the `aipipe` command."""

__version__ = "0.1.0"
