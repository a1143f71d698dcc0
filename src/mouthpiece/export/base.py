"""The exporter interface, and writing an export to a file without ever leaving half of one.

An exporter is a class registered by ``name``: its format options are constructor
fields (a frozen dataclass), and :meth:`Exporter.export` writes one
:class:`~mouthpiece.types.Animation` to a text stream. :func:`write_file` puts that
output at a path atomically (:func:`~mouthpiece.atomic.atomic_output`): into a
temporary file beside the target, then renamed over it, so a failure leaves the target
as it was.
"""

from __future__ import annotations

import abc
import os
from typing import ClassVar, TextIO

from ..atomic import atomic_output
from ..types import Animation


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
    with atomic_output(path, what="export file") as temp, open(temp, "w", encoding="utf-8", newline="") as stream:
        exporter.export(animation, stream)
