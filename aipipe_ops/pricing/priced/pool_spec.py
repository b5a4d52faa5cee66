"""What a node pool's priced components receive: the VMs the pool runs (NodePoolSpec, read by node_pool.py)
and the unpriced line a component gives when it cannot price them. Its own module so that the components
and node_pool.py share it without importing each other or the registry."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from aipipe_ops.pricing.catalog_skus import ON_DEMAND, SPOT
from aipipe_ops.pricing.lines import CostLine
from aipipe_ops.pricing.plans.resource import PlannedResource


@dataclass(frozen=True)
class NodePoolSpec:
    resource: PlannedResource
    machine_type: str
    region: str | None
    zones: int
    nodes_min: int
    nodes_max: int
    spot: bool
    node_config: dict
    tpu_topology: str | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def purchase(self) -> str:
        return SPOT if self.spot else ON_DEMAND

    def times(self, per_node: Decimal) -> tuple[Decimal, Decimal]:
        """(minimum, maximum) of a per-node quantity across the pool."""
        return per_node * self.nodes_min, per_node * self.nodes_max


def unreadable_pool_line(resource: PlannedResource, why: str, component: str = "Node pool VMs") -> CostLine:
    return CostLine(resource=resource.name, resource_type=resource.type, urn=resource.urn, component=component,
                    kind="cpu", quantity_min=Decimal(0), quantity_max=Decimal(0), unit="nodes", per="hour",
                    unpriced_reason=why)
