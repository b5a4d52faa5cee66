"""Billing: read Cloud Billing exports (files or BigQuery), normalise them into cost_lines inside the engine that
holds the rows, attribute every cent to runs, steps, pipelines and models, and reconcile with the export total.
docs/cost-model.md is the specification; docs/billing.md says how to point aipipe at an export."""
