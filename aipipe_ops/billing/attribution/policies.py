"""The allocation policies by name: the CLI's --idle and --shared choices come from these registries.
A new policy is one function in idle.py or shared.py (or a new module) and one entry here.

Every policy has the one signature `(con, classified, weights, into: Allocation) -> None`: it reads the classified
lines of its classes (classes.classify_lines) and the runs' weights (scopes.build_weights), and appends their
money to the allocation (allocation.Allocation: lines, and detail for what it shares), every cent once."""

from __future__ import annotations

from dataclasses import dataclass

from aipipe_ops.billing.attribution import commitments, idle, shared
from aipipe_ops.errors import ConfigError

IDLE_POLICIES = {
    "separate": idle.separate,
    "share": idle.share_by_resource,
}
# Commitment policies run first: they write the lines attribution classifies (effective costs under amortize) and
# name the bucket the fees' remaining money stays in: `(con, window, into) -> bucket`.
COMMITMENT_POLICIES = {
    "amortize": commitments.amortize,
    "separate": commitments.separate,
}
SHARED_POLICIES = {
    "separate": shared.separate,
    "weighted": shared.weighted,
    "even": shared.even,
}


@dataclass(frozen=True)
class Policy:
    idle: str = "separate"
    shared: str = "separate"
    share_namespaces: tuple[str, ...] = ()
    commitments: str = "amortize"

    def __post_init__(self):
        if self.idle not in IDLE_POLICIES:
            raise ConfigError(f"--idle {self.idle!r}: expected one of {', '.join(IDLE_POLICIES)}")
        if self.commitments not in COMMITMENT_POLICIES:
            raise ConfigError(f"--commitments {self.commitments!r}: expected one of {', '.join(COMMITMENT_POLICIES)}")
        if self.shared not in SHARED_POLICIES:
            raise ConfigError(f"--shared {self.shared!r}: expected one of {', '.join(SHARED_POLICIES)}")
