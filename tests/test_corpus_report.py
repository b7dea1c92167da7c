"""The report of an extraction on a corpus without truth (aligner.evaluate.corpus_report)."""

import numpy as np
import pytest
from test_bad_input import BAD, rel_paths, set_english_text
from test_extract import run

from aligner.evaluate.corpus_report import corpus_report, token_figures
from aligner.extract.summary import row_cause


def test_token_figures_by_hand():
    # "ab c": phone tokens 1, 3, 7; the blank between a and b is token 2; space is token 5
    figures = token_figures("ab c", np.array([1, 3, 1, 4, 2, 1, 1, 1, 1]))
    assert figures == {
        "phone_frames": 8,
        "mark_frames": 0,
        "inner_blank_frames": 1,
        "frames": 15,
        "phones": 3,
        "one_frame_phones": 1,
    }
    # "ˈaː": the stress and length marks (tokens 1, 5) are not phones, though they hold one frame each
    figures = token_figures("ˈaː", np.array([2, 1, 1, 4, 1, 1, 3]))
    assert figures == {
        "phone_frames": 4,
        "mark_frames": 2,
        "inner_blank_frames": 2,
        "frames": 13,
        "phones": 1,
        "one_frame_phones": 0,
    }
    with pytest.raises(ValueError, match="2 L \\+ 1"):
        token_figures("ab c", np.ones(4, dtype=int))


def test_a_summary_without_the_cause_column_gives_other():
    assert row_cause({"rel_path": "a", "status": "failed", "message": "silent audio"}) == "other"
    assert row_cause({"rel_path": "a", "status": "failed", "cause": "silent audio", "message": "x"}) == "silent audio"


def test_report_of_a_corpus_with_a_bad_text_and_a_bad_line(corpus, checkpoint, tmp_path):
    set_english_text(corpus, "In 1984 he paid $2,022 for 3.5 kg.")
    lines = (corpus / "metadata.csv").read_text(encoding="utf-8").splitlines()
    lines[BAD + 1] = lines[BAD + 1].rsplit("|", 1)[0] + "|"  # an empty text: a malformed line
    (corpus / "metadata.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert run(corpus, checkpoint) == 1
    text = corpus_report(corpus, corpus / "durations", tmp_path / "report", pictures=4)
    assert f"{len(lines) - 2} utterances aligned, 2 skipped" in text
    assert "| text espeak reads as several sentences | 1 |" in text and f"`{rel_paths(corpus)[BAD]}`" in text
    assert "| malformed filelist line | 1 |" in text
    pictures = sorted(p.name for p in (tmp_path / "report").glob("*.png"))
    assert len(pictures) == 4 and all(f"]({name})" in text for name in pictures)
    assert (tmp_path / "report" / "report.md").read_text(encoding="utf-8") == text
