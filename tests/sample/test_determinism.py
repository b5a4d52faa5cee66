"""Same seed -> identical output; another seed -> another fleet."""

from __future__ import annotations

import base64
import json
import sqlite3

from google.protobuf import json_format, struct_pb2

from aipipe_ops.sample import generate_fleet

SMALL = dict(runs=16, days=2, tenants=3)
TABLES = ("Type", "TypeProperty", "Artifact", "ArtifactProperty", "Execution", "ExecutionProperty", "Context",
          "ContextProperty", "ParentContext", "Event", "EventPath")


def _canonical(value):
    """Struct properties are stored as 'mlmd-struct::' + base64 of a serialized map whose byte order comes from
    ml-metadata's C++ hash maps: compare their content, not their bytes."""
    if isinstance(value, str) and value.startswith("mlmd-struct::"):
        s = struct_pb2.Struct()
        s.ParseFromString(base64.b64decode(value[len("mlmd-struct::"):]))
        return "struct:" + json.dumps(json_format.MessageToDict(s), sort_keys=True)
    return value


def _store_dump(path) -> dict:
    """The store's logical content: every node, id, property, event and time."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        dump = {t: sorted(tuple(_canonical(v) for v in row) for row in db.execute(f"SELECT * FROM {t}"))
                for t in TABLES}
        # The surrogate ids of these link rows follow C++ hash-set order; the links themselves must match.
        dump["Attribution"] = sorted(db.execute("SELECT context_id, artifact_id FROM Attribution").fetchall())
        dump["Association"] = sorted(db.execute("SELECT context_id, execution_id FROM Association").fetchall())
    return dump


def _files(out) -> dict:
    names = ["fleet.json", "ground_truth.json"] + [f"billing/{p.name}" for p in sorted((out / "billing").iterdir())]
    return {name: (out / name).read_bytes() for name in names}


def test_same_seed_gives_identical_output(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    generate_fleet(a, seed=5, progress=False, **SMALL)
    generate_fleet(b, seed=5, progress=False, **SMALL)
    files_a, files_b = _files(a), _files(b)
    assert files_a.keys() == files_b.keys()
    assert any(n.endswith(".parquet") for n in files_a) and any(n.endswith(".jsonl") for n in files_a)
    for name in files_a:
        assert files_a[name] == files_b[name], name
    dump = _store_dump(a / "mlmd.sqlite")
    assert dump["Execution"] and dump == _store_dump(b / "mlmd.sqlite")


def test_another_seed_gives_another_fleet(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    generate_fleet(a, seed=5, progress=False, billing_formats="parquet", **SMALL)
    generate_fleet(b, seed=6, progress=False, billing_formats="parquet", **SMALL)
    assert (a / "ground_truth.json").read_bytes() != (b / "ground_truth.json").read_bytes()
    assert (a / "billing/part-00000.parquet").read_bytes() != (b / "billing/part-00000.parquet").read_bytes()
    assert _store_dump(a / "mlmd.sqlite")["Context"] != _store_dump(b / "mlmd.sqlite")["Context"]
