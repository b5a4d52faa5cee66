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


def test_new_file_gets_the_usual_mode_and_replacement_keeps_the_old(tmp_path):
    import os
    import stat

    target = tmp_path / "report.md"
    write_text_atomic(target, "one")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    os.chmod(target, 0o640)
    write_text_atomic(target, "two")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
