"""A small ctypes binding to espeak-ng's C library (``libespeak-ng.so.1``).

Two services, both behind one lock because the library keeps global state (the voice,
the rate, the synth callback):

- :func:`synthesize`: speech as int16 PCM at espeak-ng's native rate, with the events
  the library reports while it speaks: a PHONEME event at the start of each phoneme
  (its IPA name), a WORD event at the start of each word, SENTENCE and END (of clause)
  events. Event times are milliseconds into the returned samples.
- :func:`phonemize`: text to IPA phonemes per word (``espeak_TextToPhonemes``), for
  pronouncing words a dictionary lacks.

The library is loaded and initialised on first use, in synchronous mode with phoneme
events named in IPA (``espeakINITIALIZE_PHONEME_IPA``), so one table maps the phonemes
of every language onto the ARPAbet inventory. Two quirks of espeak-ng 1.51 callers must
know: a pause has an empty IPA name (so do a few zero-width markers such as
palatalisation ``;``), and a language switch inside a text arrives as a phoneme named
like ``(en)``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import re
import subprocess
import threading
from enum import IntEnum
from typing import NamedTuple

import numpy as np

from ..errors import DependencyError, InputError

LIBRARY_NAME = "espeak-ng"  # for ctypes.util.find_library
LIBRARY_FILE = "libespeak-ng.so.1"  # the soname Debian's libespeak-ng1 installs
BUFFER_MS = 200  # ms of audio per synth callback
RATE_MIN_WPM = 80  # words per minute, espeakRATE_MINIMUM
RATE_MAX_WPM = 450  # words per minute, espeakRATE_MAXIMUM
RATE_DEFAULT_WPM = 175  # words per minute, espeakRATE_NORMAL
PHONEME_SEPARATOR = "|"  # between phonemes in espeak_TextToPhonemes output; never IPA

# Constants from espeak-ng's speak_lib.h (API revision 12).
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_PHONEME_EVENTS = 0x0001
_INITIALIZE_PHONEME_IPA = 0x0002
_INITIALIZE_DONT_EXIT = 0x8000
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_PHONEMES_IPA = 0x02
_PARAMETER_RATE = 1
_EE_OK = 0
_EVENT_LIST_TERMINATED = 0

# A language switch inside a text, reported as a phoneme name or in phoneme strings.
_LANGUAGE_SWITCH = re.compile(r"\([^)]*\)")
VOICE_PATTERN = re.compile(r"[a-z0-9_-]+(?:\+[a-z0-9_-]+)?", re.IGNORECASE)  # never a path


class EventType(IntEnum):
    """The espeak_EVENT_TYPE values :func:`synthesize` passes on."""

    WORD = 1  # start of a word
    SENTENCE = 2  # start of a sentence
    END = 5  # end of a clause or sentence
    PHONEME = 7  # start of a phoneme


class Event(NamedTuple):
    """One event of a :func:`synthesize` call.

    type : EventType
    audio_position_ms : int >= 0, milliseconds into the returned samples
    phoneme : str, the IPA name of a PHONEME event ('' for a pause and for other events)
    text_position : int >= 0, 1-based character index into the text the event belongs to
    length : int >= 0, characters of the word for WORD events (not always the whole word)
    """

    type: EventType
    audio_position_ms: int
    phoneme: str
    text_position: int
    length: int


class _EventId(ctypes.Union):
    _fields_ = [
        ("number", ctypes.c_int),  # WORD and SENTENCE events
        ("name", ctypes.c_char_p),  # MARK and PLAY events
        ("string", ctypes.c_ubyte * 8),  # PHONEME events: UTF-8, NUL-terminated unless full
    ]


class _EspeakEvent(ctypes.Structure):
    """espeak_EVENT; ctypes pads it as the C compiler does (40 bytes on 64-bit Linux)."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


class _EspeakVoice(ctypes.Structure):
    """espeak_VOICE, used to select a voice by language."""

    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_char_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_EspeakEvent)
)
_PASSED_ON = frozenset(int(t) for t in EventType)


class _Engine:
    """The initialised library, its sample rate, and what the synth callback collects."""

    def __init__(self, lib: ctypes.CDLL, sample_rate: int) -> None:
        self.lib = lib
        self.sample_rate = sample_rate
        self.chunks: list[np.ndarray] = []
        self.events: list[Event] = []
        # The C side holds only a raw pointer: this reference keeps the callback alive.
        self.callback = _SynthCallback(self._on_synth)
        lib.espeak_SetSynthCallback(self.callback)

    def _on_synth(self, wav: ctypes._Pointer, n_samples: int, events: ctypes._Pointer) -> int:
        if wav and n_samples > 0:
            raw = ctypes.string_at(wav, n_samples * ctypes.sizeof(ctypes.c_short))
            self.chunks.append(np.frombuffer(raw, dtype=np.int16))
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            event = events[i]
            if event.type in _PASSED_ON:
                phoneme = ""
                if event.type == EventType.PHONEME:
                    phoneme = bytes(event.id.string).split(b"\0", 1)[0].decode("utf-8", "ignore")
                self.events.append(
                    Event(
                        EventType(event.type),
                        event.audio_position,
                        phoneme,
                        event.text_position,
                        event.length,
                    )
                )
            i += 1
        return 0  # continue synthesis

    def select_voice(self, voice: str) -> None:
        """Select ``voice`` by name (``en-us``, ``de+f2``), else by language (``en-gb``)."""
        check_voice_name(voice)
        name = voice.strip().encode("utf-8")
        if self.lib.espeak_SetVoiceByName(name) == _EE_OK:
            return
        base, plus, variant = voice.strip().lower().partition("+")
        by_file = language_files().get(base)
        if plus and by_file and self.lib.espeak_SetVoiceByName(f"{by_file}+{variant}".encode()) == _EE_OK:
            return  # a language's voice with a variant ("en-gb+f3": the file en, variant f3)
        # by language, but only for a language espeak-ng has: its matching takes any
        # prefix ("no-such-voice" would get Norwegian)
        if voice.strip().lower() in known_languages():
            spec = _EspeakVoice(languages=name)
            if self.lib.espeak_SetVoiceByProperties(ctypes.byref(spec)) == _EE_OK:
                return
        raise InputError(_unknown_voice(voice))


def _unknown_voice(voice: object) -> str:
    return f"Unknown espeak-ng voice {voice!r}; `espeak-ng --voices` lists the installed ones."


def check_voice_name(voice: object) -> str:
    """``voice`` stripped, once it is known to name an installed voice, language or voice+variant.

    espeak-ng reads a voice name it does not know as a file path (``../../etc/passwd``
    crashes it; ``/dev/zero`` hangs it), so a name reaches the library only if it is one
    of ``espeak-ng --voices``' languages, names or files, optionally with ``+`` and one of
    its variants (``en-us+f3``).
    """
    if not isinstance(voice, str) or not VOICE_PATTERN.fullmatch(voice.strip()):
        raise InputError(_unknown_voice(voice))
    base, _, variant = voice.strip().lower().partition("+")
    voices, variants = known_voices()
    if base not in voices or (variant and variant not in variants):
        raise InputError(_unknown_voice(voice))
    return voice.strip()


@functools.lru_cache(maxsize=1)
def known_voices() -> tuple[frozenset[str], frozenset[str]]:
    """Lower-cased names a voice may be selected by, and the names of the voice variants."""
    voices = set(known_languages())
    for line in voice_listing() + voice_listing("mb"):
        fields = line.split()
        if len(fields) >= 5:
            voices.update((fields[3].lower(), fields[4].rpartition("/")[2].lower()))
    listed = (line.split() for line in voice_listing("variant"))
    variants = {fields[4].rpartition("/")[2].lower() for fields in listed if len(fields) >= 5}
    return frozenset(v for v in voices if VOICE_PATTERN.fullmatch(v)), frozenset(variants)


@functools.lru_cache(maxsize=1)
def language_files() -> dict[str, str]:
    """The voice file espeak-ng speaks each language code with (``en-gb`` -> ``en``)."""
    files: dict[str, str] = {}
    for line in voice_listing():
        fields = line.split()
        if len(fields) >= 5:
            files.setdefault(fields[1].lower(), fields[4].rpartition("/")[2].lower())
    return files


@functools.lru_cache(maxsize=4)
def voice_listing(kind: str = "") -> tuple[str, ...]:
    """The lines of ``espeak-ng --voices[=kind]`` after its header (asked once per kind)."""
    command = ["espeak-ng", f"--voices={kind}" if kind else "--voices"]
    try:
        listing = subprocess.run(command, capture_output=True, text=True, check=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    return tuple(listing.splitlines()[1:])


def known_languages() -> frozenset[str]:
    """Every language code espeak-ng has a voice for (``espeak-ng --voices``), lower-cased."""
    return frozenset(language_names())


@functools.lru_cache(maxsize=1)
def language_names() -> dict[str, str]:
    """Each language code espeak-ng has a voice for, lower-cased, and its voice's name: a
    voice's own language and the others it lists ("fr-fr ... (fr 5)": fr too)."""
    names: dict[str, str] = {}
    for line in voice_listing():
        fields = line.split()
        if len(fields) >= 4:
            name = fields[3].replace("_", " ")
            names.setdefault(fields[1].lower(), name)
            for other in re.findall(r"\(([^ )]+) \d+\)", line):
                names.setdefault(other.lower(), name.split(" (")[0])
    return names


_LOCK = threading.Lock()
_engine: _Engine | None = None


def _load_library() -> ctypes.CDLL:
    path = ctypes.util.find_library(LIBRARY_NAME) or LIBRARY_FILE
    try:
        lib = ctypes.CDLL(path)
    except OSError as e:
        raise DependencyError(
            f"espeak-ng's library ({LIBRARY_FILE}) was not found; "
            "install the Debian package espeak-ng (apt-get install espeak-ng)."
        ) from e
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
    lib.espeak_SetSynthCallback.restype = None
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetVoiceByName.restype = ctypes.c_int
    lib.espeak_SetVoiceByProperties.argtypes = [ctypes.POINTER(_EspeakVoice)]
    lib.espeak_SetVoiceByProperties.restype = ctypes.c_int
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_SetParameter.restype = ctypes.c_int
    lib.espeak_Synth.argtypes = [
        ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
        ctypes.c_uint, ctypes.POINTER(ctypes.c_uint), ctypes.c_void_p,
    ]  # fmt: skip
    lib.espeak_Synth.restype = ctypes.c_int
    lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, ctypes.c_int]
    lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
    return lib


def _get_engine() -> _Engine:
    """The initialised library; call with ``_LOCK`` held."""
    global _engine
    if _engine is None:
        lib = _load_library()
        options = _INITIALIZE_PHONEME_EVENTS | _INITIALIZE_PHONEME_IPA | _INITIALIZE_DONT_EXIT
        sample_rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, BUFFER_MS, None, options)
        if sample_rate <= 0:
            raise DependencyError(
                "espeak-ng could not be initialised; install the Debian package espeak-ng "
                "(its data comes with espeak-ng-data)."
            )
        _engine = _Engine(lib, sample_rate)
    return _engine


def synthesize(text: str, *, voice: str = "en-us", rate_wpm: int | None = None) -> tuple[np.ndarray, int, list[Event]]:
    """Speak ``text`` with espeak-ng and report where each phoneme and word starts.

    Parameters
    ----------
    text : str
        Plain text (no SSML, no ``[[phoneme]]`` input).
    voice : str
        An espeak-ng voice name or language (``en-us``, ``en-gb``, ``de``, ``fr+f2``).
    rate_wpm : int in [80, 450] or None
        Speaking rate in words per minute; None for espeak-ng's default (175).

    Returns
    -------
    samples : np.ndarray [shape=(n,), dtype=int16]
    sample_rate : int, Hz (22050 for espeak-ng's own voices)
    events : list of Event, in the order spoken: WORD, SENTENCE, END and PHONEME events

    Raises
    ------
    InputError
        For an unknown voice or a rate outside [80, 450].
    DependencyError
        When espeak-ng's library is missing or fails.
    """
    if rate_wpm is not None and not RATE_MIN_WPM <= rate_wpm <= RATE_MAX_WPM:
        raise InputError(
            f"Speaking rate must be between {RATE_MIN_WPM} and {RATE_MAX_WPM} words per minute, got {rate_wpm!r}."
        )
    data = text.encode("utf-8")
    with _LOCK:
        engine = _get_engine()
        engine.select_voice(voice)
        rate = RATE_DEFAULT_WPM if rate_wpm is None else int(rate_wpm)
        engine.lib.espeak_SetParameter(_PARAMETER_RATE, rate, 0)
        engine.chunks.clear()
        engine.events.clear()
        status = engine.lib.espeak_Synth(data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        if status != _EE_OK:
            raise DependencyError(f"espeak-ng failed to speak the text (error code {status}).")
        samples = np.concatenate(engine.chunks) if engine.chunks else np.zeros(0, np.int16)
        events = list(engine.events)
        engine.chunks.clear()
        engine.events.clear()
        return samples, engine.sample_rate, events


def check_voice(voice: str) -> None:
    """Raise InputError unless espeak-ng has ``voice`` (a name or a language)."""
    with _LOCK:
        _get_engine().select_voice(voice)


def is_language_switch(event: Event) -> bool:
    """Whether a PHONEME event only marks a switch of language, like ``(en)``."""
    return bool(_LANGUAGE_SWITCH.fullmatch(event.phoneme))


def phonemize(text: str, *, voice: str = "en-us") -> list[list[str]]:
    """IPA phonemes of each word of ``text``, as espeak-ng would pronounce them.

    Words are espeak-ng's: it may join short words it pronounces as one ("of a") and
    expands numbers ("12" is "twelve"). Stress marks stay on the phoneme they precede;
    language-switch markers are removed.

    Parameters
    ----------
    text : str
    voice : str
        An espeak-ng voice name or language, which picks the pronunciation rules.

    Returns
    -------
    list of list of str, one list of IPA phonemes per word (empty for empty text)

    Examples
    --------
    >>> phonemize("hello world")
    [['h', 'ə', 'l', 'ˈoʊ'], ['w', 'ˈɜː', 'l', 'd']]
    """
    buffer = ctypes.create_string_buffer(text.encode("utf-8"))
    mode = _PHONEMES_IPA | (ord(PHONEME_SEPARATOR) << 8)
    words: list[list[str]] = []
    with _LOCK:
        engine = _get_engine()
        engine.select_voice(voice)
        # espeak_TextToPhonemes translates one clause per call, advancing the pointer past
        # it, and sets it to NULL after the last one.
        pointer = ctypes.c_void_p(ctypes.addressof(buffer))
        end = ctypes.addressof(buffer) + len(buffer.value)
        while pointer.value is not None and pointer.value < end:
            before = pointer.value
            result = engine.lib.espeak_TextToPhonemes(ctypes.byref(pointer), _CHARS_UTF8, mode)
            clause = _LANGUAGE_SWITCH.sub(" ", (result or b"").decode("utf-8", "replace"))
            for word in clause.split():
                phonemes = [p for p in word.split(PHONEME_SEPARATOR) if p]
                if phonemes:
                    words.append(phonemes)
            if pointer.value == before:  # no progress: never loop forever
                break
    return words
