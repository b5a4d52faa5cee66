"""Persistent volumes: a PersistentVolumeClaim provisions a persistent disk of its StorageClass, per
GiB-month, for as long as the claim exists (whatever the node pools do).

- `kubernetes:core/v1:PersistentVolumeClaim` in the plan: `spec.resources.requests.storage` of
  `spec.storageClassName`. GKE's StorageClasses: `standard-rwo` (the default when none is named) and
  `standard` map to balanced and standard PD; `premium-rwo` to SSD PD.
- Kubeflow Pipelines installed from its kustomize manifests (`kubernetes:kustomize/v2:Directory`): the
  provider builds the objects, so no plan shows its claims. For the manifests aipipe knows, the claims are
  listed here: env/platform-agnostic at 2.17.0 (and its patches 2.17.1, 2.17.2) has `mysql-pv-claim` and `seaweedfs-pvc`, 20 GiB each
  (kubeflow/pipelines manifests, reference/provisioning.md s2.4), on the default StorageClass.

Line: "Persistent volume (<disk type>, <claim>)", quantity in GiB, the same at minimum and maximum.

Limitations: claims of other KFP versions or environments are one unpriced line (sizes not in aipipe's
facts); regional (`replication-type: regional-pd`) and Hyperdisk StorageClasses, snapshots and volume
expansion are not priced; the disk's region is the plan's cluster's.
"""

from __future__ import annotations

import re
from decimal import Decimal

from aipipe_ops.gcp.regions import region_of
from aipipe_ops.pricing.catalog_skus import disk_selector
from aipipe_ops.pricing.lines import MONTHLY, CostLine, ResourceNote
from aipipe_ops.pricing.plans.resource import PlannedResource
from aipipe_ops.pricing.priced.context import PricingContext
from aipipe_ops.pricing.priced.inputs import Unknown, get

STORAGE_CLASSES = {None: "pd-balanced", "": "pd-balanced", "standard-rwo": "pd-balanced",
                   "standard": "pd-standard", "premium-rwo": "pd-ssd"}
KFP_MANIFESTS = re.compile(r"kubeflow/pipelines/manifests/kustomize/(?P<env>[\w/.-]+?)\?ref=(?P<version>[\w.-]+)$")
_KFP_217_CLAIMS = (("mysql-pv-claim", 20), ("seaweedfs-pvc", 20))
# 2.17 patch releases keep 2.17.0's claims (patches change images, not the storage of the manifests).
KFP_CLAIMS = {("env/platform-agnostic", version): _KFP_217_CLAIMS for version in ("2.17.0", "2.17.1", "2.17.2")}
_UNITS = {"Ki": Decimal(2) ** -20, "Mi": Decimal(2) ** -10, "Gi": Decimal(1), "Ti": Decimal(2) ** 10,
          "K": Decimal(10) ** 3 / 2**30, "M": Decimal(10) ** 6 / 2**30, "G": Decimal(10) ** 9 / 2**30,
          "T": Decimal(10) ** 12 / 2**30}


def gib(quantity: str) -> Decimal:
    """A Kubernetes storage quantity ("20Gi", "500M") in GiB."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|K|M|G|T)?", str(quantity).strip())
    if not match:
        raise ValueError(f"storage request {quantity!r} is not a Kubernetes quantity")
    return Decimal(match.group(1)) * _UNITS.get(match.group(2) or "", Decimal(1) / 2**30)


def _region(ctx: PricingContext) -> str | None:
    clusters = ctx.clusters()
    location = get(clusters[0].inputs, "location") if len(clusters) == 1 else None
    return region_of(location) if location else None


def _line(resource: PlannedResource, ctx: PricingContext, claim: str, size: Decimal, storage_class) -> CostLine:
    disk_type = STORAGE_CLASSES.get(storage_class)
    component = f"Persistent volume ({disk_type or storage_class}, {claim})"
    if disk_type is None:
        return CostLine(resource=resource.name, resource_type=resource.type, urn=resource.urn, component=component,
                        kind="disk", quantity_min=size, quantity_max=size, unit="GiB", per=MONTHLY,
                        unpriced_reason=f"StorageClass {storage_class} is not one aipipe maps to a disk type "
                                        f"({', '.join(k for k in STORAGE_CLASSES if k)})")
    return ctx.line(resource, component=component, kind="disk", selector=disk_selector(disk_type),
                    region=_region(ctx), purchase=None, quantity_min=size, quantity_max=size, unit="GiB",
                    per=MONTHLY)


def price_claim(resource: PlannedResource, ctx: PricingContext) -> list:
    name = get(resource.inputs, "metadata.name") or resource.name
    try:
        size = gib(get(resource.inputs, "spec.resources.requests.storage") or "")
        storage_class = get(resource.inputs, "spec.storageClassName")
    except (Unknown, ValueError) as exc:
        return [CostLine(resource=resource.name, resource_type=resource.type, urn=resource.urn,
                         component=f"Persistent volume ({name})", kind="disk", quantity_min=Decimal(0),
                         quantity_max=Decimal(0), unit="GiB", per=MONTHLY, unpriced_reason=str(exc))]
    return [_line(resource, ctx, name, size, storage_class)]


def price_kustomization(resource: PlannedResource, ctx: PricingContext) -> list:
    directory = str(resource.inputs.get("directory") or "")
    match = KFP_MANIFESTS.search(directory)
    if match is None:
        return [ResourceNote(resource=resource.name, resource_type=resource.type, urn=resource.urn,
                             status="unsupported", reason="a provider-side kustomization: the objects it creates "
                             "(volumes, load balancers) are not in the plan and not priced")]
    env, version = match.group("env"), match.group("version")
    claims = KFP_CLAIMS.get((env, version))
    if claims is None:
        if env == "cluster-scoped-resources":
            return [ResourceNote(resource=resource.name, resource_type=resource.type, urn=resource.urn,
                                 status="free", reason="KFP's CRDs and namespace cost nothing")]
        return [CostLine(resource=resource.name, resource_type=resource.type, urn=resource.urn,
                         component=f"Persistent volumes (KFP {version} {env})", kind="disk",
                         quantity_min=Decimal(0), quantity_max=Decimal(0), unit="GiB", per=MONTHLY,
                         unpriced_reason=f"the volume claims of KFP {version} {env} are not in aipipe's facts "
                                         "(known: 2.17.0-2.17.2 env/platform-agnostic, 2 x 20 GiB)")]
    return [_line(resource, ctx, claim, Decimal(size), None) for claim, size in claims]
