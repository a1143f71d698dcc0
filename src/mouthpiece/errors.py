"""The errors mouthpiece raises.

::

    MouthpieceError                 anything mouthpiece reports on purpose
    ├── InputError (ValueError)     the user's input is unusable: missing, corrupt, empty, wrong kind
    │   ├── UnknownFormatError      an export format name we do not have
    │   ├── NoFaceError             no face (or not the requested one) in an image
    │   └── TooLongError            an input past a configured limit (seconds of audio, pixels, characters)
    └── DependencyError (RuntimeError)
                                    a required system component (espeak-ng) is missing or broken

Every message is one sentence that names the offending file or value, so the CLI can
print it as it is.
"""

from __future__ import annotations


class MouthpieceError(Exception):
    """Base class of every error mouthpiece raises on purpose."""


class InputError(MouthpieceError, ValueError):
    """The input cannot be used: a missing, corrupt, empty or wrong kind of file or value."""


class UnknownFormatError(InputError):
    """An export format name that is not registered."""


class NoFaceError(InputError):
    """An image has no face where one is needed."""


class TooLongError(InputError):
    """An input larger than a limit the caller set: seconds of audio, pixels of an image, characters."""


class DependencyError(MouthpieceError, RuntimeError):
    """A system component mouthpiece needs (espeak-ng's library) is missing or failed."""
