"""The exporter interface, and writing an export to a file without ever leaving half of one.

An exporter is a class registered by ``name``: its format options are constructor
fields (a frozen dataclass), and :meth:`Exporter.export` writes one
:class:`~mouthpiece.types.Animation` to a text stream. :func:`write_file` puts that
output at a path atomically: into a temporary file beside the target, then renamed
over it, so a failure leaves the target as it was.
"""

from __future__ import annotations

import abc
import contextlib
import os
import secrets
import stat
from typing import ClassVar, TextIO

from ..errors import InputError
from ..types import Animation

FILE_MODE = 0o666  # permissions of a new export before the umask, as open() creates files


class Exporter(abc.ABC):
    """Writes an Animation in one file format.

    Subclasses are frozen dataclasses whose fields are the format's options, and set
    the class attributes below.
    """

    name: ClassVar[str]  # registry key and CLI choice, e.g. "tsv"
    extension: ClassVar[str]  # file name extension with its dot, e.g. ".tsv"

    @abc.abstractmethod
    def export(self, animation: Animation, stream: TextIO) -> None:
        """Write ``animation`` to ``stream``.

        Parameters
        ----------
        animation : Animation
            What to write.
        stream : TextIO
            An open text stream; lines end in ``"\\n"``, so open files with ``newline=""``.

        Raises
        ------
        InputError
            When the animation lacks what the format needs (e.g. mouth cues).
        """


def _create_temp(directory: str, filename: str) -> tuple[int, str]:
    """Create a new hidden file beside the target, with the mode open() would give it.

    Unlike ``tempfile.mkstemp`` (always 0600) this lets the umask decide the mode.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        temp_path = os.path.join(directory, f".{filename}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(temp_path, flags, FILE_MODE), temp_path
        except FileExistsError:
            continue


def write_file(exporter: Exporter, animation: Animation, path: str | os.PathLike[str]) -> None:
    """Export ``animation`` to the file ``path``, all or nothing.

    The output goes to a temporary file in the target's directory, which replaces
    ``path`` only once the export has finished (an existing file keeps its
    permissions); on any failure the temporary file is removed and an existing file
    at ``path`` is left untouched.

    Parameters
    ----------
    exporter : Exporter
        The format to write.
    animation : Animation
        What to write.
    path : str or os.PathLike
        The output file, created or replaced.

    Raises
    ------
    InputError
        When the file cannot be written (missing directory, no permission), or the
        exporter rejects the animation.
    """
    target = os.path.abspath(os.fspath(path))
    try:
        fd, temp_path = _create_temp(*os.path.split(target))
    except OSError as e:
        raise InputError(f"Could not write export file '{path}': {e.strerror}.") from e
    try:
        with open(fd, "w", encoding="utf-8", newline="") as stream:
            exporter.export(animation, stream)
        with contextlib.suppress(FileNotFoundError):
            os.chmod(temp_path, stat.S_IMODE(os.stat(target).st_mode))
        os.replace(temp_path, target)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_path)
        if isinstance(e, OSError):
            raise InputError(f"Could not write export file '{path}': {e.strerror}.") from e
        raise
