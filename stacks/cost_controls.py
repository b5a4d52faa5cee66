"""Cost plumbing: where the billing export lands, GKE usage metering, and a budget on the stack label.

- The billing export dataset is created here, but Google lets only a person in the console point a
  billing account's export at it (docs/provisioning.md, "Billing export"). It outlives the stack
  (`retain_on_delete`): export history cannot be re-created, and Google does not backfill it.
- The budget watches this stack's label (`aipipe-stack`) in this project, and alerts billing admins
  at 50 %, 90 % and 100 % of actual spend and at 100 % of forecast spend. Budgets alert; they do
  not stop spending. The Budgets API refuses user credentials without a quota project, so the budget
  gets its own provider with `billing_project` and `user_project_override`.
"""

from __future__ import annotations

from decimal import Decimal

import pulumi
import pulumi_gcp as gcp

from stacks.config import StackConfig
from stacks.labels import STACK_LABEL

CURRENT_THRESHOLDS = (0.5, 0.9, 1.0)
FORECAST_THRESHOLDS = (1.0,)


def money(amount: Decimal, currency: str) -> dict:
    """Cloud Billing money: whole units as a string, the fraction in nanos."""
    units = int(amount)
    nanos = int((amount - units) * 1_000_000_000)
    return {"currency_code": currency, "units": str(units), "nanos": nanos}


class CostControls(pulumi.ComponentResource):
    billing_export: gcp.bigquery.Dataset | None
    usage_metering: gcp.bigquery.Dataset | None
    budget: gcp.billing.Budget | None

    def __init__(self, name: str, cfg: StackConfig, labels: dict[str, str],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("aipipe:cost:CostControls", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.billing_export = None
        if cfg.billing_export_dataset:
            self.billing_export = gcp.bigquery.Dataset(
                "billing-export", dataset_id=cfg.billing_export_dataset, project=cfg.project,
                location=cfg.dataset_location, friendly_name="Cloud Billing export",
                description="Detailed usage cost export of the billing account (point the export here in "
                            "the console: Billing > Billing export). Read by aipipe.",
                delete_contents_on_destroy=False, labels=labels,
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True))

        self.usage_metering = None
        if cfg.usage_metering_dataset:
            self.usage_metering = gcp.bigquery.Dataset(
                "usage-metering", dataset_id=cfg.usage_metering_dataset, project=cfg.project,
                location=cfg.dataset_location, friendly_name="GKE usage metering",
                description=f"GKE resource consumption of cluster {cfg.cluster_name}.",
                delete_contents_on_destroy=not cfg.deletion_protection, labels=labels, opts=child)

        self.budget = None
        if cfg.budget is not None:
            provider = gcp.Provider("billing-budgets", project=cfg.project, billing_project=cfg.project,
                                    user_project_override=True, opts=child)
            project_number = gcp.organizations.get_project_output(project_id=cfg.project).number
            self.budget = gcp.billing.Budget(
                "budget", billing_account=cfg.billing_account,
                display_name=f"aipipe {cfg.stack} ({cfg.cluster_name})"[:60],
                amount={"specified_amount": money(cfg.budget.amount, cfg.budget.currency)},
                threshold_rules=[{"threshold_percent": t, "spend_basis": "CURRENT_SPEND"}
                                 for t in CURRENT_THRESHOLDS] +
                                [{"threshold_percent": t, "spend_basis": "FORECASTED_SPEND"}
                                 for t in FORECAST_THRESHOLDS],
                budget_filter={
                    "projects": [project_number.apply(lambda n: f"projects/{n}")],
                    # One label only (the API takes a single pair): the stack's.
                    "labels": {STACK_LABEL: labels[STACK_LABEL]},
                    "calendar_period": "MONTH",
                    "credit_types_treatment": "INCLUDE_ALL_CREDITS",
                },
                opts=pulumi.ResourceOptions(parent=self, provider=provider))

        self.register_outputs({})
