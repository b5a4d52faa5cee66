"""Reports: one module + one template per report, found by a registry."""
