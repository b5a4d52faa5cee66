"""The attribution policy as command-line options, one definition for every command that attributes
(`aipipe costs`, `aipipe report`): the same choices, defaults, help and checks everywhere."""

from __future__ import annotations

import click

from aipipe_ops.billing.attribution.policies import IDLE_POLICIES, SHARED_POLICIES, Policy
from aipipe_ops.errors import ConfigError

DEFAULT_POLICY = Policy()


def policy_options(func):
    """Adds --idle, --shared and --share-namespace (parameters idle, shared, share_namespaces)."""
    options = (
        click.option("--idle", type=click.Choice(list(IDLE_POLICIES)), default=DEFAULT_POLICY.idle,
                     show_default=True,
                     help="Idle capacity (kube:unallocated): keep it separate, or share it among the runs of its "
                          "node pool by their cost of each resource."),
        click.option("--shared", type=click.Choice(list(SHARED_POLICIES)), default=DEFAULT_POLICY.shared,
                     show_default=True,
                     help="Overhead (kube:system-overhead, cluster fee) and shared namespaces: keep separate, or "
                          "share among the runs of their scope weighted by cost, or evenly."),
        click.option("--share-namespace", "share_namespaces", multiple=True,
                     help="Namespace whose cost is shared among runs under --shared weighted or even (e.g. "
                          "kubeflow, kube-system); an error with --shared separate. Repeatable."),
    )
    for option in reversed(options):
        func = option(func)
    return func


def policy_of(idle: str, shared: str, share_namespaces) -> Policy:
    """The policy the options name; naming a namespace to share without sharing is an error, not ignored."""
    if share_namespaces and shared == "separate":
        raise ConfigError(f"--share-namespace {share_namespaces[0]} needs --shared weighted or --shared even "
                          f"(with --shared separate, the namespace's cost stays a separate line)")
    return Policy(idle=idle, shared=shared, share_namespaces=tuple(share_namespaces))
