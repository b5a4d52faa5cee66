"""What every orchestrator provides: how it writes MLMD (KFP v2's driver and launcher, KFP v1's metadata-writer,
TFX's launchers). Each lives in one file of this package and exposes `ORCHESTRATOR`, found by the registry in
__init__.py.

A snapshot first mirrors the store's executions, artifacts, events and the contexts an orchestrator asks for into
the workspace, then each present orchestrator fills in, with SQL over those tables, what it alone knows: which run
each of its executions belongs to, the step and component names, the pod, the image, the cache origin, and the
`runs` rows. What all orchestrators share (event directions, cache chains, run states) is in derivations.py;
artifact kinds are in ../kinds.py.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import duckdb


@dataclass(frozen=True)
class StoreTypes:
    """The type names a store holds, by kind: all an orchestrator needs to say whether it wrote there."""

    executions: frozenset[str]
    artifacts: frozenset[str]
    contexts: frozenset[str]


class Orchestrator(ABC):
    # steps.dialect (the column keeps its schema-v2 name): kfp-v2 | kfp-v1 | tfx | tfx-legacy
    name: ClassVar[str]
    runs_orchestrator: ClassVar[str]         # runs.orchestrator: kfp-v2 | kfp-v1 | tfx (tfx-legacy runs are tfx)
    priority: ClassVar[int]                  # lower claims first when two orchestrators could own an execution
    claims: ClassVar[str]                    # SQL predicate over `s` (a steps row): this orchestrator wrote it
    run_context_types: ClassVar[tuple[str, ...]] = ()
    pipeline_context_types: ClassVar[tuple[str, ...]] = ()
    node_context_types: ClassVar[tuple[str, ...]] = ()
    # True when the store records an execution's run only as an Association (no property says it): executions
    # still without a run after derive_steps get their contexts read from the store (see mlmd_source.py).
    runs_from_associations: ClassVar[bool] = False
    # SQL predicate over `s`: the executions whose states make up the run's state (e.g. not KFP's DAG bookkeeping).
    state_bearing: ClassVar[str] = "TRUE"

    @abstractmethod
    def present(self, types: StoreTypes) -> bool:
        """Did this orchestrator write into a store with these types?"""

    @abstractmethod
    def derive_steps(self, con: duckdb.DuckDBPyConnection) -> None:
        """Set run_id, step, component, pod_name, image and cached_from on the steps it claims."""

    @abstractmethod
    def derive_runs(self, con: duckdb.DuckDBPyConnection, source: str) -> None:
        """Insert the runs of its steps (state and finish time are filled afterwards by derivations.py)."""

    @property
    def context_types(self) -> tuple[str, ...]:
        return self.run_context_types + self.pipeline_context_types + self.node_context_types

    def __repr__(self) -> str:
        return f"<orchestrator {self.name}>"


def prop(column: str, key: str) -> str:
    """SQL for a string-valued property of a JSON properties column (NULL when absent or empty)."""
    return f"nullif(json_extract_string({column}, '$.\"{key}\"'), '')"


def update_steps(con: duckdb.DuckDBPyConnection, derived_sql: str) -> None:
    """Write derived columns onto steps. `derived_sql` selects execution_id plus any of run_id, step, component,
    pod_name, image, cached_from; a NULL from the query leaves nothing to keep, so values are replaced."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE _derived AS {derived_sql}")
    columns = [r[0] for r in con.execute("DESCRIBE _derived").fetchall() if r[0] != "execution_id"]
    assignments = ", ".join(f"{c} = d.{c}" for c in columns)
    con.execute(f"UPDATE steps SET {assignments} FROM _derived d WHERE steps.execution_id = d.execution_id")
    con.execute("DROP TABLE _derived")
