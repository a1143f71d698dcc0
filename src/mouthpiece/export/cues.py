"""Rhubarb Lip Sync's view of the mouth cues, shared by the tsv, xml, json and dat formats.

Rhubarb holds its result as a continuous, self-joining timeline of shapes over
``[0, duration)`` in whole centiseconds: every instant shows exactly one shape, gaps
show X (the rest shape), and neighbours with the same shape are one cue. Its
exporters iterate that timeline. :meth:`MouthCueExporter.rhubarb_cues` rebuilds it
from an :class:`~mouthpiece.types.ShapeTrack`:

1. round each segment to the nearest centisecond, clip it to the track, drop empty ones;
2. fill the gaps with X;
3. map the extended shapes not wanted to the basic ones Rhubarb draws instead
   (``getBasicShape``: G to A, H to C, X to A): ``extended_shapes`` is Rhubarb's
   ``--extendedShapes`` (a string of G, H and X; True is all three, False keeps X only);
4. join neighbours that now show the same shape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

from ..errors import InputError
from ..types import Animation, ShapeTrack
from .base import Exporter

REST_SHAPE = "X"
BASIC_SHAPE = {"G": "A", "H": "C", "X": "A"}  # extended shape -> the basic shape Rhubarb draws instead
EXTENDED_SHAPES = "GHX"
CENTISECONDS = 100  # per second: Rhubarb's time unit


class Cue(NamedTuple):
    """One Rhubarb mouth cue: ``[start, end)`` in whole centiseconds and its shape letter."""

    start: int
    end: int
    shape: str


def to_centiseconds(t: float) -> int:
    """Nearest whole centisecond to ``t`` seconds.

    >>> to_centiseconds(0.285), to_centiseconds(1.0)
    (29, 100)
    """
    return math.floor(t * CENTISECONDS + 0.5 + 1e-9)


def format_centiseconds(cs: int) -> str:
    """Seconds with two decimals, as Rhubarb's ``formatDuration`` writes them.

    >>> format_centiseconds(5), format_centiseconds(123)
    ('0.05', '1.23')
    """
    return f"{cs / CENTISECONDS:.2f}"


def allowed_extended_shapes(extended_shapes: bool | str) -> frozenset[str]:
    """The extended shapes to write: True all (G, H, X), False X only, or Rhubarb's letters.

    >>> sorted(allowed_extended_shapes("gx"))
    ['G', 'X']
    """
    if isinstance(extended_shapes, bool):
        return frozenset(EXTENDED_SHAPES if extended_shapes else REST_SHAPE)
    letters = frozenset(extended_shapes.upper())
    if not letters <= set(EXTENDED_SHAPES):
        raise InputError(f"Extended shapes are letters from G, H and X (as Rhubarb's --extendedShapes), "
                         f"got {extended_shapes!r}.")  # fmt: skip
    return letters


def rhubarb_cues(track: ShapeTrack, *, extended_shapes: bool | str = True) -> tuple[list[Cue], int]:
    """The contiguous, joined cues Rhubarb would export for ``track``, and its end.

    Parameters
    ----------
    track : ShapeTrack
        The mouth shapes, in seconds.
    extended_shapes : bool or str
        The extended shapes kept (see :func:`allowed_extended_shapes`); the others become
        A (G, X) or C (H).

    Returns
    -------
    cues : list of Cue
        Covering ``[0, end)`` without gaps; empty when ``end`` is 0.
    end : int
        The track's duration in centiseconds.

    Examples
    --------
    >>> from mouthpiece.types import ShapeTrack
    >>> track = ShapeTrack([(0.1, 0.2, "A"), (0.2, 0.3, "G")], 0.5)
    >>> rhubarb_cues(track, extended_shapes=False)
    ([Cue(start=0, end=10, shape='X'), Cue(start=10, end=30, shape='A'), \
Cue(start=30, end=50, shape='X')], 50)
    """
    end = to_centiseconds(track.duration)
    allowed = allowed_extended_shapes(extended_shapes)

    def drawn(shape: str) -> str:
        return shape if shape in allowed or shape not in BASIC_SHAPE else BASIC_SHAPE[shape]

    rest = drawn(REST_SHAPE)
    painted: list[Cue] = []
    cursor = 0
    for segment in track.segments:
        start = max(to_centiseconds(segment.start), cursor)
        stop = min(to_centiseconds(segment.end), end)
        if stop <= start:
            continue
        if start > cursor:
            painted.append(Cue(cursor, start, rest))
        painted.append(Cue(start, stop, drawn(segment.label)))
        cursor = stop
    if cursor < end:
        painted.append(Cue(cursor, end, rest))

    cues: list[Cue] = []
    for cue in painted:
        if cues and cues[-1].shape == cue.shape:
            cues[-1] = cues[-1]._replace(end=cue.end)
        else:
            cues.append(cue)
    return cues, end


@dataclass(frozen=True)
class MouthCueExporter(Exporter):
    """Base of the formats that write ``Animation.cues``, Rhubarb's mouth shapes A-H and X."""

    extended_shapes: bool | str = True  # G, H and X; False: X only; or Rhubarb's letters, e.g. "GX"

    @property
    def rest_shape(self) -> str:
        """The shape drawn at rest: X, or A where X is not one of the extended shapes wanted."""
        return REST_SHAPE if REST_SHAPE in allowed_extended_shapes(self.extended_shapes) else BASIC_SHAPE[REST_SHAPE]

    def rhubarb_cues(self, animation: Animation) -> tuple[list[Cue], int]:
        """The animation's mouth cues as Rhubarb exports them (see :func:`rhubarb_cues`).

        Raises
        ------
        InputError
            When the animation has no mouth cues.
        """
        if animation.cues is None:
            raise InputError(f"The animation has no mouth cues, which the {self.name!r} format writes.")
        return rhubarb_cues(animation.cues, extended_shapes=self.extended_shapes)
