"""The export formats by name: dispatch, option checking, and formats for file extensions."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from ..errors import InputError, UnknownFormatError
from .anim_json import AnimJsonExporter
from .arkit_csv import ArkitCsvExporter
from .base import Exporter
from .dat import DatExporter
from .oculus import OculusExporter
from .rhubarb_json import JsonExporter
from .rhubarb_xml import XmlExporter
from .tsv import TsvExporter

# In order of precedence: the first format with an extension is the one a path with it gets.
EXPORTERS: dict[str, type[Exporter]] = {
    cls.name: cls
    for cls in (
        TsvExporter, XmlExporter, JsonExporter, DatExporter,
        ArkitCsvExporter, AnimJsonExporter, OculusExporter,
    )
}  # fmt: skip

FORMAT_FOR_EXTENSION: dict[str, str] = {}
for _name, _cls in EXPORTERS.items():
    FORMAT_FOR_EXTENSION.setdefault(_cls.extension, _name)


def get_exporter(name: str, **options: Any) -> Exporter:
    """The exporter registered as ``name``, configured with ``options``.

    Parameters
    ----------
    name : str
        A key of :data:`EXPORTERS`, e.g. ``"tsv"``.
    **options
        The format's options, e.g. ``extended_shapes=False`` or ``dat_fps=30``.

    Raises
    ------
    UnknownFormatError
        When no format is registered as ``name``.
    InputError
        When the format has no such option, or an option's value is invalid.

    Examples
    --------
    >>> get_exporter("dat", dat_fps=30)
    DatExporter(extended_shapes=True, dat_fps=30, preston_blair=False)
    """
    try:
        cls = EXPORTERS[name]
    except KeyError:
        raise UnknownFormatError(f"Unknown export format {name!r}; choose one of: {', '.join(EXPORTERS)}.") from None
    known = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    unknown = [option for option in options if option not in known]
    if unknown:
        raise InputError(
            f"Export format {name!r} has no option {unknown[0]!r}; its options are: {', '.join(known) or 'none'}."
        )
    return cls(**options)


def supported_options(name: str) -> tuple[str, ...]:
    """The option names the format ``name`` takes (empty for an unknown name)."""
    cls = EXPORTERS.get(name)
    return tuple(f.name for f in dataclasses.fields(cls)) if cls else ()  # type: ignore[arg-type]


def format_for_path(path: str | os.PathLike[str]) -> str:
    """The export format a file name asks for by its extension (case-insensitive).

    ``.tsv`` -> tsv, ``.xml`` -> xml, ``.json`` -> json (Rhubarb's), ``.dat`` -> dat,
    ``.csv`` -> arkit-csv. The anim-json and oculus formats are chosen by name only.

    Raises
    ------
    UnknownFormatError
        When the extension is none of these.

    Examples
    --------
    >>> format_for_path("out/speech.JSON"), format_for_path("take.csv")
    ('json', 'arkit-csv')
    """
    extension = os.path.splitext(os.fspath(path))[1].lower()
    try:
        return FORMAT_FOR_EXTENSION[extension]
    except KeyError:
        raise UnknownFormatError(
            f"Cannot tell the export format of '{os.fspath(path)}' from its extension; "
            f"use one of {', '.join(FORMAT_FOR_EXTENSION)} or name the format."
        ) from None
