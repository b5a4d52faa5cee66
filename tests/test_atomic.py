from pathlib import Path

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


def _unwritable_folder(tmp_path):
    """A folder where no new file can be made: a read-only one, or /sys for root (who may write in any folder)."""
    import os

    folder = tmp_path / "ro"
    folder.mkdir()
    os.chmod(folder, 0o555)
    for candidate in (folder, Path("/sys/kernel")):
        probe = candidate / "aipipe-probe"
        try:
            probe.write_text("x")
        except OSError:
            return candidate
        probe.unlink()
    pytest.skip("no folder here refuses new files")


def test_a_failed_write_names_the_target_not_the_temporary_file(tmp_path):
    folder = _unwritable_folder(tmp_path)
    target = folder / "report.md"
    with pytest.raises(PermissionError) as raised:
        write_text_atomic(target, "new")
    assert raised.value.filename == str(target)
    assert ".tmp" not in str(raised.value)


def test_an_error_in_the_block_about_the_temporary_file_names_the_target(tmp_path):
    import errno

    from aipipe_ops.atomic import atomic_path

    target = tmp_path / "out.parquet"
    with pytest.raises(OSError) as raised:
        with atomic_path(target) as tmp:
            # What a library writing to the temporary path raises on a full disk.
            raise OSError(errno.ENOSPC, "No space left on device", str(tmp))
    assert raised.value.errno == errno.ENOSPC and raised.value.filename == str(target)
    assert [p.name for p in tmp_path.iterdir()] == []


def test_a_full_disk_while_writing_names_the_target(tmp_path):
    import errno

    target = tmp_path / "report.md"
    with pytest.raises(OSError) as raised:
        with atomic_open(target) as handle:
            handle.write("half")
            raise OSError(errno.ENOSPC, "No space left on device")   # what write() raises: no file name
    assert raised.value.filename == str(target)
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_errors_about_other_files_are_left_as_they_are(tmp_path):
    target = tmp_path / "report.md"
    with pytest.raises(FileNotFoundError) as raised:
        with atomic_open(target) as handle:
            handle.write(open(tmp_path / "missing.txt").read())
    assert raised.value.filename == str(tmp_path / "missing.txt")
