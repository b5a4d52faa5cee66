"""Lineage audits: rules over the workspace tables that report findings with severity and evidence."""
