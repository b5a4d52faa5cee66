"""aipipe's CrossGuard policy pack: cost and security guardrails (guardrails.py), wrapped for Pulumi (pack.py)."""
