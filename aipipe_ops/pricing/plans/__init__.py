"""Plan readers: what a Pulumi stack will create, as a list of PlannedResource.

`evaluate_stack` runs the program offline under Pulumi's mocks (no CLI, no plugins, no cloud); readers
for `pulumi preview --json` and `pulumi stack export` return the same shape.
"""

from aipipe_ops.pricing.plans.offline import StackRun, evaluate_stack, run_stack
from aipipe_ops.pricing.plans.resource import PlannedResource

__all__ = ["PlannedResource", "StackRun", "evaluate_stack", "run_stack"]
