"""What a node pool's VMs are billed for, in line order: one module per priced component, each exposing
`lines(spec: NodePoolSpec, ctx) -> list[CostLine]`. Adding a component: one module and one entry here.

The components are imported module by module, not through the package: the package's registry imports
node_pool.py, which reads this list."""

from __future__ import annotations

import aipipe_ops.pricing.priced.boot_disk as boot_disk
import aipipe_ops.pricing.priced.gpu as gpu
import aipipe_ops.pricing.priced.local_ssd as local_ssd
import aipipe_ops.pricing.priced.node_pool_instance as node_pool_instance
import aipipe_ops.pricing.priced.tpu_slice as tpu_slice

POOL_COMPONENTS = (node_pool_instance, gpu, tpu_slice, local_ssd, boot_disk)
