import pytest

from aipipe_ops.atomic import atomic_open, write_text_atomic


def test_failure_keeps_the_old_file(tmp_path):
    target = tmp_path / "report.md"
    write_text_atomic(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_open(target) as handle:
            handle.write("half of the new")
            raise RuntimeError("crash")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]


def test_success_replaces(tmp_path):
    target = tmp_path / "sub" / "report.md"
    write_text_atomic(target, "new")
    assert target.read_text() == "new"
