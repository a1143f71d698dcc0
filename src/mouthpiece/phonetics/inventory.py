"""The phone inventory's mappings: IPA (as espeak-ng writes it) and CMU labels onto ARPAbet.

Every stage speaks one inventory, ``vocabulary.PHONES`` (ARPAbet without stress, the
schwa ``AX`` and ``sil``). Recognisers and dictionaries give CMU labels (``AH0``); espeak-ng gives IPA in
any of its 100+ languages. This module maps both onto the inventory.

How the IPA table was chosen
----------------------------
The phones drive a face, so a symbol maps to the English phone whose *mouth shape* is
nearest, and among equals to the nearest articulation:

- Lip rounding and jaw openness matter most. Front rounded vowels keep their rounding
  (``y`` is UW, ``ø`` OW, ``œ`` ER); back unrounded ones lose it (``ɯ`` is UH, ``ɤ`` AH).
  Nasal vowels are their oral vowel (the mouth does not close for the nasality).
- Lip closure and lip-teeth contact are the most visible consonant features, so bilabials
  stay bilabial (``β`` is B, ``ʘ`` P) and labiodentals labiodental (``ʋ`` is V).
- The tongue matters less: retroflexes are their alveolar (``ʈ`` T, ``ʂ`` SH), palatal,
  velar and uvular fricatives (``ç x χ``) and the uvular r (``ʁ ʀ``), which have no lip
  posture, fall to HH (the mouth keeps or anticipates its shape there), trilled r to R,
  the tap ``ɾ`` to D (as in American "butter"), clicks to the stop at their place.
- A few symbols are another sound in another language (:data:`LANGUAGE_IPA`): outside
  English espeak-ng's tap ``ɾ`` is the language's r (R), in German its uvular r (HH);
  Spanish has one mid ``e`` and one mid ``o``, opener than English EY and OW (EH, AO).
- Schwas (``ə ɐ ɘ``) are AX, the unstressed vowel the lips barely shape, apart from AH.
- A sound English splits in two becomes two phones: affricates other than CH/JH (``ts``
  is T S), palatal nasal and lateral (``ɲ`` is N Y), centring diphthongs (``aɪə``).
- Marks carry no mouth shape of their own and are dropped: stress, length, tones, ties,
  syllable breaks, combining diacritics, modifier letters (``ʰ ʲ ʷ``), and the glottal
  stop ``ʔ``.

:func:`ipa_to_arpabet` drops the marks, then matches the table greedily, longest key
first; a symbol the table lacks maps through its base letter (``ã`` as ``a``; ``ᵻ``,
"small capital I with stroke", as ``i``), so it never fails.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import cache

from ..errors import InputError
from ..vocabulary import PHONES, SILENCE

_P = tuple[str, ...]  # the ARPAbet phones of one IPA symbol

IPA_TO_ARPABET: dict[str, _P] = {
    # --- English monophthongs (General American and RP as espeak-ng writes them).
    "i": ("IY",), "ɪ": ("IH",), "ᵻ": ("IH",), "e": ("EY",), "ɛ": ("EH",), "æ": ("AE",),
    "a": ("AA",), "ɑ": ("AA",), "ɒ": ("AO",), "ɔ": ("AO",), "o": ("OW",), "ʊ": ("UH",),
    "u": ("UW",), "ʌ": ("AH",), "ɜ": ("ER",), "ɚ": ("ER",),
    "ɝ": ("ER",), "ə˞": ("ER",), "ɜ˞": ("ER",),
    # --- Schwas, which espeak-ng writes for unstressed vowels: the weak AX, not AH.
    "ə": ("AX",), "ɐ": ("AX",), "ɘ": ("AX",),
    # --- Other unrounded vowels: by height and frontness.
    "ä": ("AA",), "ɶ": ("AO",), "ɨ": ("IH",), "ɞ": ("AH",), "ɯ": ("UH",), "ɤ": ("AH",),
    # --- Front and central rounded vowels (German, French, Dutch, Nordic, Turkish):
    # rounding is what shows, so they take the rounded English vowel of their height.
    "y": ("UW",), "ʏ": ("UH",), "ʉ": ("UW",), "ø": ("OW",), "ɵ": ("UH",), "œ": ("ER",),
    # --- English diphthongs.
    "aɪ": ("AY",), "aʊ": ("AW",), "ɔɪ": ("OY",), "eɪ": ("EY",), "oʊ": ("OW",),
    "əʊ": ("OW",),
    # --- English r-coloured and centring vowels (rhotic and non-rhotic).
    "ɪɹ": ("IY", "R"), "oɹ": ("AO", "R"), "aɪɚ": ("AY", "ER"), "aʊɚ": ("AW", "ER"),
    "aɪə": ("AY", "AX"), "aʊə": ("AW", "AX"), "ɪə": ("IH", "AX"), "iə": ("IY", "AX"),
    "eə": ("EH", "AX"), "ɛə": ("EH", "AX"), "ʊə": ("UH", "AX"), "ər": ("ER",),
    # --- Diphthongs of other languages: the English diphthong with the same glide.
    "ai": ("AY",), "aj": ("AY",), "ɑɪ": ("AY",), "æi": ("AY",), "aɨ": ("AY",),
    "ei": ("EY",), "ej": ("EY",), "ɛɪ": ("EY",), "ɛi": ("EY",), "au": ("AW",),
    "ʌʊ": ("AW",), "ɑʊ": ("AW",), "oi": ("OY",), "ɔi": ("OY",), "ɔø": ("OY",),
    "ɔʏ": ("OY",), "œy": ("OY",), "ou": ("OW",), "ɐʊ": ("OW",),
    # --- Plosives and nasals.
    "p": ("P",), "b": ("B",), "t": ("T",), "d": ("D",), "k": ("K",), "ɡ": ("G",),
    "g": ("G",), "m": ("M",), "n": ("N",), "ŋ": ("NG",), "ɱ": ("M",), "nɡ": ("NG",),
    # --- Fricatives with an English counterpart.
    "f": ("F",), "v": ("V",), "θ": ("TH",), "ð": ("DH",), "s": ("S",), "z": ("Z",),
    "ʃ": ("SH",), "ʒ": ("ZH",), "h": ("HH",), "ɦ": ("HH",),
    # --- Approximants and liquids.
    "ɹ": ("R",), "l": ("L",), "ɫ": ("L",), "w": ("W",), "j": ("Y",), "ʍ": ("W",),
    "ɥ": ("W",), "ʋ": ("V",), "ɰ": ("G",), "ʎ": ("L", "Y"), "ʟ": ("L",),
    # --- Rhotics: trills, taps and uvular r.
    "r": ("R",), "ʀ": ("HH",), "ʁ": ("HH",), "ɻ": ("R",), "ɾ": ("D",), "ɽ": ("D",),
    "ɺ": ("D",),
    # --- Affricates.
    "tʃ": ("CH",), "dʒ": ("JH",), "ts": ("T", "S"), "dz": ("D", "Z"), "pf": ("P", "F"),
    "tɕ": ("CH",), "dʑ": ("JH",), "tʂ": ("CH",), "dʐ": ("JH",), "ʈʂ": ("CH",),
    "ɖʐ": ("JH",), "tθ": ("T", "TH"), "dð": ("D", "DH"), "ʧ": ("CH",), "ʤ": ("JH",),
    "ʦ": ("T", "S"), "ʣ": ("D", "Z"), "tɬ": ("T", "L"),
    # --- Retroflex, palatal and alveolo-palatal consonants: the alveolar or
    # post-alveolar of the same manner.
    "ʈ": ("T",), "ɖ": ("D",), "ɳ": ("N",), "ɭ": ("L",), "ʂ": ("SH",), "ʐ": ("ZH",),
    "c": ("CH",), "ɟ": ("JH",), "ɲ": ("N", "Y"), "ɕ": ("SH",), "ʑ": ("ZH",), "ʝ": ("Y",),
    "ç": ("HH",), "ɧ": ("SH",), "ɬ": ("L",), "ɮ": ("L",),
    # --- Bilabial and labial fricatives: keep the lips.
    "β": ("B",), "ɸ": ("F",),
    # --- Velar, uvular, pharyngeal and glottal consonants.
    "x": ("HH",), "ɣ": ("G",), "χ": ("HH",), "q": ("K",), "ɢ": ("G",), "ɴ": ("N",),
    "ħ": ("HH",), "ʕ": ("HH",), "ʜ": ("HH",), "ʢ": ("HH",), "ʔ": (), "ʡ": (),
    # --- Clicks and implosives: the plosive at the same place.
    "ʘ": ("P",), "ǀ": ("T",), "ǃ": ("T",), "ǂ": ("CH",), "ǁ": ("L",), "ɓ": ("B",),
    "ɗ": ("D",), "ʄ": ("JH",), "ɠ": ("G",), "ʛ": ("G",),
    # --- espeak-ng mnemonics that reach its IPA output unconverted (1.51).
    "s.": ("SH",), "z.": ("ZH",), "ts.": ("CH",), "sx": ("SH",),
    # --- Marks kept until matching because the keys above use them; alone they say nothing.
    ".": (), "˞": (),
}  # fmt: skip

# Where a language's symbol is another sound than the table's (English-centred) reading.
# ``"*"`` is every language but English.
LANGUAGE_IPA: dict[str, dict[str, _P]] = {
    "*": {"ɾ": ("R",)},  # a tapped r; English writes it only for the flapped t/d of "butter"
    "de": {"ɾ": ("HH",)},  # espeak-ng's German r stands for the uvular [ʁ]
    "es": {"e": ("EH",), "o": ("AO",)},  # one mid e and one mid o, between close-mid and open-mid
}  # fmt: skip

# Characters removed before matching: stress, length, tones, ties and linking, espeak-ng's
# separators and language-switch brackets. Combining diacritics (tilde, syllabic,
# voiceless...) and modifier letters (category Lm) are removed by category too.
IGNORED_MARKS = frozenset("ˈˌ'ːˑ˘‿͜͡-_|\"+=#,;:!?()[]/0123456789˥˦˧˨˩↗↘↑↓ ")

_MAX_KEY = max(len(k) for k in IPA_TO_ARPABET)
_FALLBACK = ("AH",)  # a letter nothing else identifies: a neutral, half-open mouth
_LETTER_NAME = re.compile(r"\bLETTER (?:SMALL |CAPITAL )*([A-Z])\b")


def _is_mark(char: str) -> bool:
    """Whether ``char`` is removed before matching (see :data:`IGNORED_MARKS`)."""
    return char in IGNORED_MARKS or bool(unicodedata.combining(char)) or unicodedata.category(char) == "Lm"


def _fallback(char: str) -> _P:
    """Phones of a character the table lacks: those of its base letter, else AH or nothing."""
    base = unicodedata.normalize("NFD", char)[0]
    if base in IPA_TO_ARPABET:
        return IPA_TO_ARPABET[base]
    if not unicodedata.category(char).startswith("L"):
        return ()  # punctuation, symbols, digits: not a sound
    match = _LETTER_NAME.search(unicodedata.name(char, ""))
    if match and match.group(1).lower() in IPA_TO_ARPABET:
        return IPA_TO_ARPABET[match.group(1).lower()]
    return _FALLBACK


def language_of(voice: str) -> str:
    """The language code of an espeak-ng voice name, lower-cased, without region or variant.

    >>> language_of("en-us+f3"), language_of("pt-BR"), language_of("mb-de1"), language_of("de")
    ('en', 'pt', 'de', 'de')
    """
    base = voice.strip().lower().partition("+")[0]
    if base.startswith("mb-"):
        return base[3:].rstrip("0123456789")
    return base.partition("-")[0]


@cache
def _table(language: str) -> dict[str, _P]:
    if language == "en":
        return IPA_TO_ARPABET
    return {**IPA_TO_ARPABET, **LANGUAGE_IPA["*"], **LANGUAGE_IPA.get(language, {})}


def ipa_to_arpabet(phoneme: str, *, language: str = "en") -> list[str]:
    """ARPAbet phones (0, 1 or 2, rarely more) for one IPA phoneme; never raises.

    Parameters
    ----------
    phoneme : str
        One phoneme as espeak-ng writes it, with any stress, length and diacritics.
    language : str
        The language it is a phoneme of (:func:`language_of`), for the few symbols that
        are another sound in another language.

    Returns
    -------
    list of str, labels from ``vocabulary.PHONES`` other than ``sil``; empty for marks and
    the glottal stop. Repeats of one phone collapse (``ss`` is one S).

    Examples
    --------
    >>> ipa_to_arpabet("ˈaɪ"), ipa_to_arpabet("tʃ"), ipa_to_arpabet("ts")
    (['AY'], ['CH'], ['T', 'S'])
    >>> ipa_to_arpabet("ɐ̃ʊ̃"), ipa_to_arpabet("ʔ")
    (['OW'], [])
    """
    phones: list[str] = []
    for _, mapped in ipa_segments(unicodedata.normalize("NFC", phoneme), language=language):
        for phone in mapped:
            if not phones or phones[-1] != phone:
                phones.append(phone)
    return phones


def ipa_segments(chars: Sequence[str], *, language: str = "en") -> list[tuple[list[int], tuple[str, ...]]]:
    """The sounds of a run of IPA characters: which characters make each, and its phones.

    Marks (stress, length, diacritics, modifier letters, separators) are skipped; the rest
    is matched greedily, longest table entry first, as :func:`ipa_to_arpabet` does. A
    speech synthesizer that gives each character a duration (Piper) times its phones by
    these groups.

    Parameters
    ----------
    chars : sequence of single characters (a str, or a list of them)
    language : str, as for :func:`ipa_to_arpabet`

    Returns
    -------
    list of (indices into ``chars`` of the sound's characters, its ARPAbet phones), in
    order; the phones may be empty (the glottal stop, a symbol).

    Examples
    --------
    >>> ipa_segments("tʃˈeɪs")
    [([0, 1], ('CH',)), ([3, 4], ('EY',)), ([5], ('S',))]
    """
    kept = [i for i, char in enumerate(chars) if not _is_mark(char)]
    text = "".join(chars[i] for i in kept)
    table = _table(language)
    out: list[tuple[list[int], tuple[str, ...]]] = []
    i = 0
    while i < len(text):
        for size in range(min(_MAX_KEY, len(text) - i), 0, -1):
            found = table.get(text[i : i + size])
            if found is not None:
                break
        else:
            found, size = _fallback(text[i]), 1
        out.append((kept[i : i + size], tuple(found)))
        i += size
    return out


@cache  # called for every segment of every partial result of a live stream
def cmu_to_arpabet(label: str) -> str:
    """The inventory label of a CMU/pocketsphinx phone label: stress digits stripped.

    ``SIL`` and pocketsphinx's fillers (``+NSN+``, ``+SPN+``, ``+BREATH+``) become ``sil``.

    Raises
    ------
    InputError
        For a label outside the ARPAbet inventory.

    Examples
    --------
    >>> cmu_to_arpabet("AH0"), cmu_to_arpabet("ey1"), cmu_to_arpabet("+NSN+")
    ('AH', 'EY', 'sil')
    """
    core = label.strip().upper().rstrip("012")
    if core == "SIL" or (len(core) > 2 and core.startswith("+") and core.endswith("+")):
        return SILENCE
    if core not in PHONES:
        raise InputError(f"Unknown CMU phone label {label!r}; expected ARPAbet like 'AH0'.")
    return core
