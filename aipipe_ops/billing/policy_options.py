"""The attribution policy as command-line options, one definition for every command that attributes
(`aipipe costs`, `aipipe report`): the same choices, defaults, help and checks everywhere."""

from __future__ import annotations

import click

from aipipe_ops.billing.attribution.policies import COMMITMENT_POLICIES, IDLE_POLICIES, SHARED_POLICIES, Policy
from aipipe_ops.errors import ConfigError

DEFAULT_POLICY = Policy()


def policy_options(func):
    """Adds --idle, --shared, --share-namespace and --commitments (parameters idle, shared, share_namespaces,
    commitments)."""
    options = (
        click.option("--idle", type=click.Choice(list(IDLE_POLICIES)), default=DEFAULT_POLICY.idle,
                     show_default=True,
                     help="Idle capacity (kube:unallocated): keep it separate, or share it among the workloads "
                          "(runs and others) of its node pool and day by their cost of each resource."),
        click.option("--shared", type=click.Choice(list(SHARED_POLICIES)), default=DEFAULT_POLICY.shared,
                     show_default=True,
                     help="Overhead (kube:system-overhead, cluster fee) and shared namespaces: keep separate, or "
                          "share among the workloads of their scope weighted by cost, or evenly."),
        click.option("--share-namespace", "share_namespaces", multiple=True,
                     help="Namespace whose cost is shared among workloads under --shared weighted or even (e.g. "
                          "kubeflow, kube-system); an error with --shared separate. Repeatable."),
        click.option("--commitments", type=click.Choice(list(COMMITMENT_POLICIES)),
                     default=DEFAULT_POLICY.commitments, show_default=True,
                     help="Commitment fees: amortize them over the usage they covered (effective cost; what no "
                          "usage absorbed is unused_commitment), or keep them separate (net cost)."),
    )
    for option in reversed(options):
        func = option(func)
    return func


def policy_of(idle: str, shared: str, share_namespaces, commitments: str = DEFAULT_POLICY.commitments) -> Policy:
    """The policy the options name; naming a namespace to share without sharing is an error, not ignored."""
    if share_namespaces and shared == "separate":
        raise ConfigError(f"--share-namespace {share_namespaces[0]} needs --shared weighted or --shared even "
                          f"(with --shared separate, the namespace's cost stays a separate line)")
    return Policy(idle=idle, shared=shared, share_namespaces=tuple(share_namespaces), commitments=commitments)
