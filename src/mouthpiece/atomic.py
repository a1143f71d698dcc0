"""Write an output file all or nothing.

:func:`atomic_output` hands out a temporary path beside the target; the caller writes
the whole file there, and only when that has finished is it renamed over the target
(``os.replace``, atomic within a folder). On any failure the temporary file is removed
and whatever was at the target before is left as it was, so a reader never sees half a
file and an interrupted run never destroys the previous output.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
from collections.abc import Iterable, Iterator

from .errors import InputError

FILE_MODE = 0o666  # permissions of a new file before the umask, as open() creates files


def _create_temp(directory: str, filename: str) -> str:
    """Create an empty hidden file beside the target and return its path.

    The name ends in the target's extension, so tools that choose a format by extension
    (FFmpeg, PyAV, Pillow) choose the target's. Unlike ``tempfile.mkstemp`` (always
    0600) the umask decides the mode, as it would for ``open()``.
    """
    extension = os.path.splitext(filename)[1]
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        temp = os.path.join(directory, f".{filename}.{secrets.token_hex(3)}.tmp{extension}")
        try:
            os.close(os.open(temp, flags, FILE_MODE))
        except FileExistsError:
            continue
        return temp


def remove_stale_temporaries(paths: Iterable[str | os.PathLike[str]]) -> int:
    """Remove the hidden temporary files :func:`atomic_output` left beside each of ``paths``
    when its process was killed outright (SIGKILL, a power cut); how many there were. A
    batch that resumes calls it before it writes those paths again. Each folder is listed once."""
    wanted: dict[str, set[str]] = {}
    for path in paths:
        directory, filename = os.path.split(os.path.abspath(os.fspath(path)))
        wanted.setdefault(directory, set()).add(filename)
    stale = re.compile(r"\.(.+)\.[0-9a-f]{6}\.tmp(\.[^.]*)?")
    removed = 0
    for directory, filenames in wanted.items():
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            for name in os.listdir(directory):
                match = stale.fullmatch(name)
                if match and match[1] in filenames and (match[2] or "") == os.path.splitext(match[1])[1]:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(os.path.join(directory, name))
                        removed += 1
    return removed


def _reason(e: OSError, directory: str) -> str:
    if isinstance(e, (FileNotFoundError, NotADirectoryError)) and not os.path.isdir(directory):
        return f"folder '{directory}' does not exist"
    return str(e.strerror or e)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str], *, what: str) -> Iterator[str]:
    """Yield a temporary path to write to; on success it replaces ``path``.

    The temporary file exists (empty) in ``path``'s own folder under a hidden name that
    keeps ``path``'s extension last, e.g. ``.out.mp4.3fa2c1.tmp.mp4``. When the ``with``
    block ends normally it is renamed over ``path``: an existing file there keeps its
    permission bits, a new one gets the mode ``open()`` would give it (0o666 less the
    umask). When the block raises, the temporary file is removed, an existing file at
    ``path`` is untouched, and the exception propagates.

    Parameters
    ----------
    path : str or os.PathLike
        The file to create or replace.
    what : str
        What the file is, for error messages, e.g. ``"export file"``.

    Yields
    ------
    temp : str
        Absolute path of the temporary file.

    Raises
    ------
    InputError
        The folder does not exist, or an ``OSError`` occurred creating, writing
        (inside the block) or renaming the file.

    Examples
    --------
    >>> with atomic_output("out.txt", what="text file") as temp:  # doctest: +SKIP
    ...     with open(temp, "w") as f:
    ...         f.write("all or nothing\\n")
    """
    name = os.fspath(path)
    target = os.path.abspath(name)
    directory, filename = os.path.split(target)
    try:
        temp = _create_temp(directory, filename)
    except OSError as e:
        raise InputError(f"Could not write {what} '{name}': {_reason(e, directory)}.") from e
    try:
        yield temp
        with contextlib.suppress(FileNotFoundError):
            os.chmod(temp, stat.S_IMODE(os.stat(target).st_mode))
        os.replace(temp, target)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        if isinstance(e, OSError):
            raise InputError(f"Could not write {what} '{name}': {_reason(e, directory)}.") from e
        raise
