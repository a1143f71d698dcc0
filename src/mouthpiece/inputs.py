"""Checks every input file gets before it is decoded, so each problem is one clear sentence."""

from __future__ import annotations

import os

from .errors import InputError


def existing_file(path: str | os.PathLike[str], *, kind: str) -> str:
    """``path`` as a string, once it is known to name a non-empty file.

    Parameters
    ----------
    path : str or os.PathLike
    kind : str, what the file should be ("audio", "image"), for the messages

    Raises
    ------
    InputError
        The file does not exist, is a directory, or is empty.
    """
    name = os.fspath(path)
    if not os.path.exists(name):
        raise InputError(f"{kind.capitalize()} file '{name}' does not exist.")
    if os.path.isdir(name):
        raise InputError(f"'{name}' is a directory, not an {kind} file.")
    if os.path.getsize(name) == 0:
        raise InputError(f"'{name}' is empty (0 bytes), not an {kind} file.")
    return name


def read_text_file(path: str) -> str:
    """A transcript file's UTF-8 text; InputError naming the file otherwise."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        raise InputError(f"Transcript file '{path}' does not exist.") from None
    except UnicodeDecodeError as e:
        raise InputError(f"Transcript file '{path}' is not UTF-8 text ({e.reason} at byte {e.start}).") from None
    except OSError as e:
        raise InputError(f"Cannot read transcript file '{path}': {e.strerror}.") from None
