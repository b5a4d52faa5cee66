"""The policy pack the Pulumi CLI runs: `pulumi preview --policy-pack stacks/policy` (from the project folder).

Constructing PolicyPack starts the analyzer's gRPC server and blocks: never import this module; tests use
guardrails.py and pack.py.
"""

import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

from stacks.policy.pack import PACK_NAME, policies  # noqa: E402

PolicyPack(name=PACK_NAME, enforcement_level=EnforcementLevel.MANDATORY, policies=policies(PROJECT_DIR))
