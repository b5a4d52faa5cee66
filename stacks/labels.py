"""Cost labels: the keys every labelled resource carries, so billing rows and the budget can find them.

The same three labels go on GCP resources (`labels` / `resource_labels`, which the billing export
copies into each row) and on the Kubernetes objects the stack owns (GKE cost allocation reads those).
GCP label values allow lowercase letters, digits, `_` and `-`, 63 characters at most; Kubernetes
also wants them to start and end with a letter or digit. Values that meet both rules are used as is.
"""

from __future__ import annotations

import re

STACK_LABEL = "aipipe-stack"  # the budget filters on this one
TEAM_LABEL = "team"
COST_CENTER_LABEL = "cost-center"

_VALID_VALUE = re.compile(r"^([a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?)?$")


def valid_label_value(value: str) -> bool:
    return bool(_VALID_VALUE.match(value))


def label_value(text: str) -> str:
    """A label value derived from free text (a stack name like `Prod.EU` becomes `prod-eu`)."""
    value = re.sub(r"[^a-z0-9_-]+", "-", text.lower())[:63]
    return value.strip("-_")


def cost_labels(stack: str, team: str, cost_center: str) -> dict[str, str]:
    """The labels for one stack; `team` and `cost_center` are validated by config.py."""
    return {STACK_LABEL: label_value(stack), TEAM_LABEL: team, COST_CENTER_LABEL: cost_center}
