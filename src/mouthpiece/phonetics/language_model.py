"""The small word language model that makes word recognition fast enough for lip sync.

pocketsphinx's US English trigram model (73k words, in its wheel) makes word recognition
cost a third of real time. For lip sync a word only has to sound like the one said, so
we keep the ``VOCABULARY`` most likely words and the bigrams among them that are at
least ``MIN_BIGRAM_LOG10`` likely: the search space shrinks ~30 times while most
everyday speech stays in reach (a rare word is heard as a similar-sounding common one).

The result ships as ``mouthpiece/data/en-us-small.lm.bin``. Rebuild it from the installed
pocketsphinx with ``python -m mouthpiece.phonetics.language_model``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from importlib import resources

VOCABULARY = 5_000  # words kept, by unigram probability
MIN_BIGRAM_LOG10 = -2.5  # bigrams less likely than this are dropped (sentence ends are kept)
SPECIAL_WORDS = ("<s>", "</s>", "<UNK>")
FILE_NAME = "en-us-small.lm.bin"


def path(model: str = "small") -> str:
    """Where a word model is: 'small' (ours, shipped) or 'full' (pocketsphinx's own)."""
    if model == "full":
        from pocketsphinx import get_model_path

        return str(get_model_path("en-us/en-us.lm.bin"))
    return str(resources.files("mouthpiece").joinpath("data", FILE_NAME))


def _read_arpa(arpa: str) -> tuple[list[tuple[float, str, float]], list[tuple[float, str, str]]]:
    """Unigrams (log10 p, word, backoff) and bigrams (log10 p, w1, w2) of an ARPA file."""
    unigrams, bigrams, section = [], [], 0
    with open(arpa, encoding="utf-8") as f:
        for line in f:
            if line.startswith("\\"):
                section = {"\\1-grams:": 1, "\\2-grams:": 2}.get(line.strip(), 3 if "grams" in line else 0)
                continue
            fields = line.rstrip("\n").replace(" ", "\t").split("\t")
            if section == 1 and len(fields) >= 2:
                unigrams.append((float(fields[0]), fields[1], float(fields[2]) if len(fields) > 2 else 0.0))
            elif section == 2 and len(fields) >= 3:
                bigrams.append((float(fields[0]), fields[1], fields[2]))
    return unigrams, bigrams


# pocketsphinx 5.1.1 segfaults near the end of writing this model as ARPA text (after the
# bigrams), so the export runs in its own process and we check what arrived.
_EXPORT = """
import sys
from pocketsphinx import Config, LogMath, NGramModel, get_model_path
config, logmath = Config(), LogMath()
model = NGramModel(config, logmath, get_model_path("en-us/en-us.lm.bin"))
model.write(sys.argv[1], NGramModel.str_to_type("arpa"))
"""
MIN_BIGRAMS_ARRIVED = 0.9999  # of those the header announces


def _export_full_model(arpa: str) -> tuple[list[tuple[float, str, float]], list[tuple[float, str, str]]]:
    subprocess.run([sys.executable, "-c", _EXPORT, arpa], capture_output=True)
    with open(arpa, encoding="utf-8") as f:
        header = f.read(200)
    announced = int(re.search(r"ngram 2=(\d+)", header).group(1))  # type: ignore[union-attr]
    unigrams, bigrams = _read_arpa(arpa)
    if len(bigrams) < MIN_BIGRAMS_ARRIVED * announced:
        raise RuntimeError(f"pocketsphinx exported {len(bigrams)} of {announced} bigrams; cannot build the model.")
    return unigrams, bigrams


def build(output: str, *, vocabulary: int = VOCABULARY, min_bigram_log10: float = MIN_BIGRAM_LOG10) -> None:
    """Write the pruned bigram model to ``output`` (pocketsphinx binary format)."""
    from pocketsphinx import Config, LogMath, NGramModel

    config, logmath = Config(), LogMath()  # the model uses these: keep them alive
    with tempfile.TemporaryDirectory() as tmp:
        full_arpa, small_arpa = os.path.join(tmp, "full.arpa"), os.path.join(tmp, "small.arpa")
        unigrams, bigrams = _export_full_model(full_arpa)
        ranked = sorted((u for u in unigrams if u[1] not in SPECIAL_WORDS), key=lambda u: -u[0])
        keep = {u[1] for u in ranked[:vocabulary]} | set(SPECIAL_WORDS)
        kept_unigrams = [u for u in unigrams if u[1] in keep]
        kept_bigrams = [
            b for b in bigrams if b[1] in keep and b[2] in keep and (b[0] > min_bigram_log10 or b[2] == "</s>")
        ]
        with open(small_arpa, "w", encoding="utf-8") as f:
            f.write(f"\\data\\\nngram 1={len(kept_unigrams)}\nngram 2={len(kept_bigrams)}\n\n\\1-grams:\n")
            f.writelines(f"{p:.4f}\t{w}\t{b:.4f}\n" for p, w, b in kept_unigrams)
            f.write("\n\\2-grams:\n")
            f.writelines(f"{p:.4f}\t{a} {b}\n" for p, a, b in kept_bigrams)
            f.write("\n\\end\\\n")
        small = NGramModel(config, logmath, small_arpa)
        small.write(output, NGramModel.str_to_type("bin"))
    print(f"{output}: {len(kept_unigrams)} words, {len(kept_bigrams)} bigrams", file=sys.stderr)


if __name__ == "__main__":
    build(sys.argv[1] if len(sys.argv) > 1 else path())
