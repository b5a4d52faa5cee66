import datetime as dt

import pytest

from aipipe_ops.lineage.audit.finding import AuditContext
from aipipe_ops.lineage.audit.registry import run_audit, snapshot_time


@pytest.fixture
def audit(workspace):
    """audit(rule, **context options) -> findings of that rule on the test's workspace."""
    def run(rule, **options):
        ctx = AuditContext(con=workspace.con, as_of=options.pop("as_of", None) or snapshot_time(workspace.con),
                           stuck_after=options.pop("stuck_after", dt.timedelta(hours=24)),
                           check_remote=options.pop("check_remote", False), options=options)
        return run_audit(ctx, [rule])
    return run
