"""Retrain the shipped front end end to end: corpus, training, export, evaluation.

    python -m training.retrain            # about 6.5 hours on two cores; data in ~/.cache/mouthpiece-train

Six stages: a corpus (seeds 14 and 15) and 65 minutes of training from scratch; then a
fresh corpus of other sentences and augmentations (seeds 16 and 17) and 60 minutes more
from those weights at half the learning rate (``--init-model``); then real voices
(``training.real_speech``: Fish Fillets NG's Czech and Dutch lines, aligned to their text
by the second stage's weights) added to that corpus and 45 minutes more at a quarter of
the rate, 30 % of the crops real; then the real lines aligned again by those weights and
the game's English said by a Piper voice (``training.piper_speech``) added, and 45 minutes
more, 30 % of the crops real and 20 % Piper's; then a fresh corpus (seeds 18 and 19) that
also has Italian and Dutch MBROLA voices (``training.mbrola``), the real lines aligned by
the fourth stage, and 33 minutes more the same way; last a fresh corpus (seeds 20 and 21)
with flite's English voices (``training.flite``) and more Spanish, French and Brazilian
MBROLA voices, the real lines aligned by the fifth stage, and 33 minutes more, which is
what ships. Each fresh corpus keeps the spoken lines' shards (real and Piper's). Then the
check on its decoded lip closures (``training.fit_closure_check``) is fitted on speech it
never heard: a 3-hour corpus of another seed (22) and the Asterisk prompts
(``training.asterisk_speech``), in ``--check-data``.

Needs the ``train`` extra (``pip install -e '.[train]'``: torch 2.13 CPU, Piper and its voice) and the Debian
packages ``espeak-ng mbrola
mbrola-{af1,br2,br4,ca1,ca2,de3,de4,de5,de7,es4,fr3,fr5,fr6,fr7,gr2,hu1,it1,it2,mx1,mx2,pt1,ro1,sw1,sw2,vz1}
flite festival festvox-rablpc16k festvox-don fillets-ng-data fillets-ng-data-cs fillets-ng-data-nl
asterisk-core-sounds-{en,es,fr,it,ru} asterisk-core-sounds-{en,es,fr,it,ru}-g722`` and the
word lists ``wamerican wngerman wfrench wspanish witalian wdutch wpolish wportuguese wbrazilian
wswedish`` (MBROLA voices are in
Debian's contrib/non-free components). Every step is seeded; the corpus and the
training stop at fixed sizes (``--hours``, ``--steps``) unless the machine is so slow
that their wall-clock guards (``--minutes``, ``--max-minutes``) stop them first.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from pathlib import Path

from mouthpiece.neural import model as model_module
from mouthpiece.neural.model import default_model

from . import (
    asterisk_speech,
    evaluate,
    export,
    fit_closure_check,
    fit_opening,
    make_corpus,
    piper_speech,
    real_speech,
    train,
)

CHECK_DATA = Path.home() / ".cache" / "mouthpiece-check"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=make_corpus.DEFAULT_OUT)
    parser.add_argument("--keep-data", action="store_true", help="train on the corpus already in --data")
    parser.add_argument("--check-data", type=Path, default=CHECK_DATA, help="speech for the closure check")
    args = parser.parse_args(argv)
    data = str(args.data)
    if not args.keep_data:
        _fresh_corpus(args.data, seeds=(14, 15))
    train.main(["--data", data, "--steps", "12000", "--eval-every", "1000", "--max-minutes", "65"])
    first = args.data / "front_end_first.npz"
    export.main(["--data", data, "--out", str(first)])
    if not args.keep_data:
        _fresh_corpus(args.data, seeds=(16, 17))
    train.main(["--data", data, "--init-model", str(first), "--lr", "1e-3", "--seed", "16", "--steps", "12000",
                "--eval-every", "1000", "--max-minutes", "60", "--ckpt", str(args.data / "ckpt_ft.pt")])  # fmt: skip
    second = args.data / "front_end_second.npz"
    export.main(["--data", data, "--ckpt", str(args.data / "ckpt_ft.pt"), "--out", str(second)])
    # real voices last: Fish Fillets NG's Czech and Dutch lines, aligned to their text by the
    # second stage's weights (the shipped path's aligner, pointed at them)
    with front_end_file(second):
        real_speech.main(["--out", data])
    train.main(["--data", data, "--init-model", str(second), "--lr", "5e-4", "--seed", "31", "--steps", "8000",
                "--eval-every", "1000", "--max-minutes", "45", "--real-share", "0.3",
                "--ckpt", str(args.data / "ckpt_real.pt")])  # fmt: skip
    third = args.data / "front_end_third.npz"
    export.main(["--data", data, "--ckpt", str(args.data / "ckpt_real.pt"), "--out", str(third)])
    # natural-sounding English (a Piper voice, exact timings) and the real lines aligned again
    # by the third stage's weights, which place them better than the second's
    with front_end_file(third):
        real_speech.main(["--out", data])
    piper_speech.main(["--out", data])
    train.main(["--data", data, "--init-model", str(third), "--lr", "5e-4", "--seed", "32", "--steps", "8000",
                "--eval-every", "1000", "--max-minutes", "45", "--real-share", "0.3", "--piper-share", "0.2",
                "--ckpt", str(args.data / "ckpt_piper.pt")])  # fmt: skip
    fourth = args.data / "front_end_fourth.npz"
    export.main(["--data", data, "--ckpt", str(args.data / "ckpt_piper.pt"), "--out", str(fourth)])
    # a fresh corpus with Italian and Dutch MBROLA voices (training.mbrola), the real lines
    # aligned by the fourth stage's weights, and the same recipe once more
    fifth = _fresh_stage(args, fourth, corpus_seeds=(18, 19), seed=33, name="fifth")
    # a fresh corpus once more, now with flite's statistical English voices, Spanish es4 and
    # vz1, Canadian French ca1 and ca2, and Brazilian br4 repaired (it said one sentence in
    # four before); the real lines aligned by the fifth stage. This one ships.
    _fresh_stage(args, fifth, corpus_seeds=(20, 21), seed=34, name="sixth", out=model_module.DEFAULT_MODEL)
    default_model.cache_clear()
    # the check on its decoded closures, from speech no stage trained on
    check = str(args.check_data)
    if not args.keep_data:
        make_corpus.main(["--out", check, "--seed", "22", "--hours", "3", "--minutes", "20"])
    asterisk_speech.main(["--out", check])
    fit_closure_check.main(["--data", check])
    evaluate.main(["--data", data, "--json", str(args.data / "figures.json")])
    # the jaw's opening filter listens to the front end's hidden layer: a new front end needs it refitted
    if fit_opening.FIXTURES.is_dir():
        default_model.cache_clear()
        fit_opening.main([])
    else:
        print(
            f"warning: refit the jaw's opening filter (python -m training.fit_opening) where {fit_opening.FIXTURES}"
            " is: until then mouthpiece refuses to use the filter with the new front end"
        )


def _fresh_stage(
    args: argparse.Namespace,
    previous: Path,
    *,
    corpus_seeds: tuple[int, int],
    seed: int,
    name: str,
    out: Path | None = None,
) -> Path:
    """A fresh corpus (unless ``--keep-data``), the real lines aligned by ``previous``'s weights,
    and 8,000 steps from them (30 % real crops, 20 % Piper's); the weights exported to ``out``
    (default ``front_end_{name}.npz`` beside the data), which is returned."""
    data = str(args.data)
    if not args.keep_data:
        _fresh_corpus(args.data, seeds=corpus_seeds)
    with front_end_file(previous):
        real_speech.main(["--out", data])
    ckpt = args.data / f"ckpt_{name}.pt"
    train.main(["--data", data, "--init-model", str(previous), "--lr", "5e-4", "--seed", str(seed), "--steps", "8000",
                "--eval-every", "1000", "--max-minutes", "45", "--real-share", "0.3", "--piper-share", "0.2",
                "--ckpt", str(ckpt)])  # fmt: skip
    out = out or args.data / f"front_end_{name}.npz"
    export.main(["--data", data, "--ckpt", str(ckpt), "--out", str(out)])
    return out


@contextlib.contextmanager
def front_end_file(path: Path) -> Iterator[None]:
    """The product's learned front end read from ``path`` inside the block."""
    before = model_module.DEFAULT_MODEL
    model_module.DEFAULT_MODEL = path
    default_model.cache_clear()
    try:
        yield
    finally:
        model_module.DEFAULT_MODEL = before
        default_model.cache_clear()


def _fresh_corpus(folder: Path, *, seeds: tuple[int, int]) -> None:
    """A new corpus in ``folder``: 24 h from every engine (``seeds[0]``), 2.5 h of Festival (``seeds[1]``).
    The shards of spoken lines (real voices, Piper's) stay: later stages train on them too."""
    for sub in ("train", "val"):
        for old in (folder / sub).glob("shard_s[0-9]*.npz"):
            old.unlink()
    for old in folder.glob("summary_seed*.json"):
        old.unlink()
    data = str(folder)
    make_corpus.main(["--out", data, "--seed", str(seeds[0]), "--hours", "24", "--minutes", "50"])
    make_corpus.main(["--out", data, "--seed", str(seeds[1]), "--hours", "2.5", "--minutes", "10", "--festival", "1"])


if __name__ == "__main__":
    main()
