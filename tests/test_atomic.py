"""mouthpiece.atomic: a file appears whole or not at all."""

from __future__ import annotations

import os
import re
from pathlib import Path

import av
import pytest

from mouthpiece.atomic import atomic_output
from mouthpiece.errors import InputError


def current_umask() -> int:
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def test_temp_file_is_hidden_beside_the_target_with_its_extension_last(tmp_path: Path) -> None:
    target = tmp_path / "out.mp4"
    with atomic_output(target, what="video file") as temp:
        assert os.path.dirname(temp) == str(tmp_path)
        assert re.fullmatch(r"\.out\.mp4\.[0-9a-f]{6}\.tmp\.mp4", os.path.basename(temp))
        assert os.path.isfile(temp) and not target.exists()
        Path(temp).write_bytes(b"whole")
    assert target.read_bytes() == b"whole"
    assert os.listdir(tmp_path) == ["out.mp4"]


def test_pyav_infers_the_format_from_the_temp_name(tmp_path: Path) -> None:
    with atomic_output(tmp_path / "clip.mkv", what="video file") as temp, av.open(temp, "w") as container:
        assert container.format.name == "matroska"


def test_new_file_gets_the_mode_open_would_give(tmp_path: Path) -> None:
    with atomic_output(str(tmp_path / "new.txt"), what="text file") as temp:
        Path(temp).write_text("x")
    assert (tmp_path / "new.txt").stat().st_mode & 0o777 == 0o666 & ~current_umask()


def test_existing_file_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "old.txt"
    target.write_text("old")
    target.chmod(0o600)
    with atomic_output(target, what="text file") as temp:
        Path(temp).write_text("new")
    assert target.read_text() == "new"
    assert target.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("existing", [None, "precious"])
def test_failure_leaves_the_target_as_it_was(tmp_path: Path, existing: str | None) -> None:
    target = tmp_path / "out.txt"
    if existing is not None:
        target.write_text(existing)
    with pytest.raises(KeyboardInterrupt), atomic_output(target, what="text file") as temp:
        Path(temp).write_text("half")
        raise KeyboardInterrupt  # not an Exception: still cleaned up
    assert os.listdir(tmp_path) == ([] if existing is None else ["out.txt"])
    if existing is not None:
        assert target.read_text() == existing


def test_os_errors_become_input_errors_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"Could not write report '.*out\.txt': No space left on device\.$"):
        with atomic_output(tmp_path / "out.txt", what="report"):
            raise OSError(28, "No space left on device")
    assert os.listdir(tmp_path) == []


def test_missing_folder(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "out.txt"
    message = f"Could not write audio file '{target}': folder '{target.parent}' does not exist."
    with pytest.raises(InputError, match=re.escape(message)):
        with atomic_output(target, what="audio file"):
            pytest.fail("the block must not run")


def test_target_that_is_a_directory(tmp_path: Path) -> None:
    (tmp_path / "out.txt").mkdir()
    with pytest.raises(InputError, match="Could not write text file '.*out.txt': Is a directory."):
        with atomic_output(tmp_path / "out.txt", what="text file") as temp:
            Path(temp).write_text("x")
    assert os.listdir(tmp_path) == ["out.txt"]


def test_the_block_may_remove_the_temp_file_itself(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="gave up"), atomic_output(tmp_path / "out.txt", what="text file") as temp:
        os.unlink(temp)
        raise ValueError("gave up")
    assert os.listdir(tmp_path) == []
