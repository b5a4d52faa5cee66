"""Constants and helpers shared by the stack tests (fixtures are in conftest.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
# stacks/ is the Pulumi program, not an installed package: it is imported from the project folder.
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

EXAMPLE_STACKS = ("dev", "prod")

# A small valid stack for matrix tests: everything else comes from Pulumi.yaml defaults.
BASE_CONFIG = {
    "gcp:project": "acme-ml-test",
    "aipipe:location": "us-central1",
    "aipipe:team": "ml-platform",
    "aipipe:costCenter": "cc-42",
    "aipipe:masterAuthorizedNetworks": ["192.0.2.0/24"],
}


def raw_config(config: dict) -> dict[str, str]:
    """The un-namespaced aipipe values of a `ns:key` mapping, as strings the way Pulumi passes them."""
    return {key.split(":", 1)[1]: value if isinstance(value, str) else json.dumps(value)
            for key, value in config.items() if key.startswith("aipipe:")}
