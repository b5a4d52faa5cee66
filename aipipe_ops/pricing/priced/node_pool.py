"""GKE node pool (`gcp:container/nodePool:NodePool`, and a cluster's default pool): how many of which VM
run at the autoscaling minimum and maximum, then one line per priced component of those VMs.

Components, one module each, listed in pool_components.py: node_pool_instance (vCPUs + memory), gpu, tpu_slice,
local_ssd, boot_disk; they read the pool as a NodePoolSpec (pool_spec.py).

Node counts, following the GKE API:
- `autoscaling.totalMinNodeCount` / `totalMaxNodeCount` are pool-wide; `minNodeCount` / `maxNodeCount` are
  per zone, times the pool's zones.
- Without autoscaling the pool has `nodeCount` per zone, else `initialNodeCount` per zone (minimum =
  maximum).
- Zones: `nodeLocations`, else the pool's (or its cluster's) location if it is a zone, else the
  cluster's `nodeLocations`, else 3 (GKE spreads a regional cluster's pools over three zones).
- `spot: true` and `preemptible: true` both price at spot rates (same pricing model).

Limitations: a pool of a cluster not in the plan, with neither a location nor nodeLocations, has no region
and is unpriced. Node auto-provisioning (`clusterAutoscaling`) pools do not exist before they are needed
and are not estimated.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from aipipe_ops.gcp.regions import is_zone, region_of
from aipipe_ops.pricing.lines import CostLine
from aipipe_ops.pricing.plans.resource import PlannedResource
from aipipe_ops.pricing.priced.context import PricingContext
from aipipe_ops.pricing.priced.inputs import Unknown, flag, get, number
from aipipe_ops.pricing.priced.pool_components import POOL_COMPONENTS
from aipipe_ops.pricing.priced.pool_spec import NodePoolSpec, unreadable_pool_line

DEFAULT_MACHINE_TYPE = "e2-medium"  # GKE's default when node_config.machine_type is not set
REGIONAL_DEFAULT_ZONES = 3


def _count(value: Decimal | None, path: str) -> int | None:
    if value is None:
        return None
    if value != value.to_integral_value() or value < 0:
        raise ValueError(f"input {path} is {value}, expected a whole number of nodes")
    return int(value)


def read_node_pool(resource: PlannedResource, ctx: PricingContext) -> NodePoolSpec:
    """The VMs a node pool runs. Raises Unknown / ValueError."""
    inputs = resource.inputs
    cluster = ctx.cluster_of(resource)
    notes: list[str] = []

    location = get(inputs, "location") or (get(cluster.inputs, "location") if cluster else None)
    node_locations = get(inputs, "nodeLocations") or []
    cluster_locations = (get(cluster.inputs, "nodeLocations") or []) if cluster is not None else []
    zones_assumed = False
    if node_locations:
        zones = len(node_locations)
    elif location and is_zone(location):
        zones = 1
    elif cluster_locations:
        zones = len(cluster_locations)
    else:
        zones = REGIONAL_DEFAULT_ZONES
        zones_assumed = True
    region = region_of(location) if location else (region_of(node_locations[0]) if node_locations else None)

    node_config = get(inputs, "nodeConfig") or {}
    machine_type = get(inputs, "nodeConfig.machineType")
    if not machine_type:
        machine_type = DEFAULT_MACHINE_TYPE
        notes.append(f"machineType not set: GKE's default {DEFAULT_MACHINE_TYPE}")
    spot = flag(inputs, "nodeConfig.spot") or flag(inputs, "nodeConfig.preemptible")

    autoscaling = get(inputs, "autoscaling") or {}
    total_min = _count(number(autoscaling, "totalMinNodeCount"), "autoscaling.totalMinNodeCount")
    total_max = _count(number(autoscaling, "totalMaxNodeCount"), "autoscaling.totalMaxNodeCount")
    zone_min = _count(number(autoscaling, "minNodeCount"), "autoscaling.minNodeCount")
    zone_max = _count(number(autoscaling, "maxNodeCount"), "autoscaling.maxNodeCount")
    node_count = _count(number(inputs, "nodeCount"), "nodeCount")
    initial = _count(number(inputs, "initialNodeCount"), "initialNodeCount")

    per_zone_counts = True
    if total_max is not None or zone_max is not None:
        nodes_max = total_max if total_max is not None else zone_max * zones
        if total_min is not None:
            nodes_min = total_min
        elif zone_min is not None:
            nodes_min = zone_min * zones
        else:
            nodes_min = 0
        per_zone_counts = total_max is None or total_min is None
    else:
        per_zone = node_count if node_count is not None else initial
        if per_zone is None:
            per_zone = 1
            notes.append("no node count set: 1 node per zone assumed")
        nodes_min = nodes_max = per_zone * zones
    if zones_assumed and per_zone_counts:
        notes.append(f"regional pool without nodeLocations: counts per zone x {REGIONAL_DEFAULT_ZONES} zones "
                     "(GKE's default spread)")
    if nodes_min > nodes_max:
        raise ValueError(f"autoscaling minimum {nodes_min} exceeds maximum {nodes_max}")

    topology = get(inputs, "placementPolicy.tpuTopology")
    return NodePoolSpec(resource=resource, machine_type=str(machine_type), region=region, zones=zones,
                        nodes_min=nodes_min, nodes_max=nodes_max, spot=spot, node_config=node_config,
                        tpu_topology=topology, notes=tuple(notes))


def pool_lines(spec: NodePoolSpec, ctx: PricingContext) -> list[CostLine]:
    lines: list[CostLine] = []
    for component in POOL_COMPONENTS:
        lines += component.lines(spec, ctx)
    if spec.notes:
        note = "; ".join(spec.notes)
        lines = [line if line.note else _with_note(line, note) for line in lines]
    return lines


def _with_note(line: CostLine, note: str) -> CostLine:
    return replace(line, note=note)


def price_node_pool(resource: PlannedResource, ctx: PricingContext) -> list[CostLine]:
    try:
        spec = read_node_pool(resource, ctx)
    except Unknown as exc:
        return [unreadable_pool_line(resource, f"{exc}: the pool's VMs cannot be priced")]
    except ValueError as exc:
        return [unreadable_pool_line(resource, str(exc))]
    return pool_lines(spec, ctx)
