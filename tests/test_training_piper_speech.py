"""The natural-sounding English of ``training.piper_speech``: the game's English lines."""

from __future__ import annotations

from training import piper_speech


def test_dialogue_lines_are_read_from_the_english_scripts_and_wordless_ones_skipped(tmp_path):
    level = tmp_path / "script" / "kitchen"
    level.mkdir(parents=True)
    (level / "dialogs_en.lua").write_text(
        'dialogId("kit-m-pan", "font_small", "Where is the \\"pan\\"?")\n\ndialogId("kit-v-dots", "font_big", "...")\n',
        encoding="utf-8",
    )
    assert piper_speech.english_lines(tmp_path) == [("kitchen", "kit-m-pan", 'Where is the "pan"?')]
