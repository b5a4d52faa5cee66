"""Facts about Google Cloud (layer 2 of DESIGN.md): machine types and families, GPU types and the machines
that carry them, TPU machine types, topologies and zones, zone and region names. The stacks validate
against them, the policy pack and the estimate price with them; they ship inside the installed package.

One concern per module, each citing its sources; tabular facts are CSV files in `data/` with a `source`
column, read by the module that owns them. Imports nothing of aipipe's but the core.
"""
