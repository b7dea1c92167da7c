"""The scorer: frame ownership on hand-built utterances; on a real demo corpus, the ceiling of
reference-derived durations, shifts, permutations."""

import json
import shutil

import numpy as np
import pytest
import torch

from aligner.corpus import read_metadata
from aligner.durations import load_durations, save_durations
from aligner.evaluate.reference_durations import reference_durations
from aligner.evaluate.score import (
    Evaluation,
    OwnershipCounts,
    accuracy_cells,
    accuracy_header,
    boundary_errors_ms,
    evaluate,
    format_report,
    frame_ownership,
    main,
)
from aligner.search.timing import frame_seconds
from aligner.text import to_phonemes

S = 256 / 24000  # one mel frame, seconds
# "ab": silence, a over frames 2..11 (centres 2.5 S .. 11.5 S), b over frames 12..21, silence; 24 frames
TWO_PHONES = [
    {"label": "", "start": 0.0, "end": 2 * S},
    {"label": "a", "start": 2 * S, "end": 12 * S},
    {"label": "b", "start": 12 * S, "end": 22 * S},
    {"label": "", "start": 22 * S, "end": 24 * S},
]


def test_phones_holding_their_frames_own_them():
    # tokens blank a blank b blank hold frames 0-2, 3-11, 12-13, 14-21, 22-23
    counts = frame_ownership("ab", np.array([3, 9, 2, 8, 2]), TWO_PHONES, S)
    # a: frame 2 a leading-blank frame, 3-11 its own; b: 12-13 the blank between, 14-21 its own
    assert (counts.owned, counts.blank_between, counts.total) == (17, 3, 20)
    assert counts.ratios == pytest.approx([0.9, 0.8])
    figures = counts.figures()
    assert figures["ownership_pct"] == pytest.approx(85.0)
    assert figures["blank_share_pct"] == pytest.approx(15.0)
    assert figures["median_duration_ratio"] == pytest.approx(0.85)


def test_one_frame_spikes_between_fat_blanks_own_almost_nothing():
    # tokens blank a blank b blank hold frames 0-10, 11, 12-20, 21, 22-23
    counts = frame_ownership("ab", np.array([11, 1, 9, 1, 2]), TWO_PHONES, S)
    assert (counts.owned, counts.blank_between, counts.total) == (2, 18, 20)
    assert counts.figures() == pytest.approx(
        {"ownership_pct": 10.0, "blank_share_pct": 90.0, "median_duration_ratio": 0.1}
    )


def test_a_phone_owns_the_blanks_between_its_characters_not_pauses():
    # "aʊ b": tokens _ a _ ʊ _ space _ b _ ; aʊ over frames 0-9, b over frames 12-19
    phones = [
        {"label": "aʊ", "start": 0.0, "end": 10 * S},
        {"label": "", "start": 10 * S, "end": 12 * S},
        {"label": "b", "start": 12 * S, "end": 20 * S},
    ]
    # frames: 0 | a 1-4 | _ 5-6 | ʊ 7-9 | _ 10 | space 11-12 | _ 13 | b 14-18 | _ 19
    counts = frame_ownership("aʊ b", np.array([1, 4, 2, 3, 1, 2, 1, 5, 1]), phones, S)
    # aʊ: frames 1-9 its own (tokens 1..3, the blank inside included), frame 0 a blank outside
    # b: frame 12 held by the space (neither), 13 and 19 blanks between, 14-18 its own
    assert (counts.owned, counts.blank_between, counts.total) == (14, 3, 18)
    assert counts.ratios == pytest.approx([0.9, 0.625])
    assert counts.figures()["ownership_pct"] == pytest.approx(100 * 14 / 18)
    assert counts.figures()["median_duration_ratio"] == pytest.approx(0.7625)


def test_without_blanks_character_i_is_token_i_and_no_blank_share():
    # tokens a b hold frames 0-9, 10-23: a loses frames 10-11 to b
    counts = frame_ownership("ab", np.array([10, 14]), TWO_PHONES, S)
    assert (counts.owned, counts.blank_between, counts.total) == (18, 0, 20)
    assert counts.ratios == pytest.approx([1.0, 1.4])
    assert counts.figures()["blank_share_pct"] == 0.0


def test_ownership_is_pooled_over_frames_and_phones_per_language_and_overall():
    result = Evaluation("hand")
    for rel_path, language, durations in (("good", "en-us", [3, 9, 2, 8, 2]), ("spiky", "de", [11, 1, 9, 1, 2])):
        result.errors_ms[rel_path] = boundary_errors_ms("ab", np.array(durations), TWO_PHONES, S)
        result.ownership[rel_path] = frame_ownership("ab", np.array(durations), TWO_PHONES, S)
        result.languages[rel_path] = language
    table = result.by_language()
    assert table["en-us"]["ownership_pct"] == pytest.approx(85.0)
    assert table["de"]["blank_share_pct"] == pytest.approx(90.0)
    assert table["all"]["ownership_pct"] == pytest.approx(100 * 19 / 40)
    assert table["all"]["blank_share_pct"] == pytest.approx(100 * 21 / 40)
    assert table["all"]["median_duration_ratio"] == pytest.approx(0.45)  # median of 0.9, 0.8, 0.1, 0.1
    assert OwnershipCounts.pooled(result.ownership.values()).total == 40
    assert accuracy_header().split()[-4:] == ["bias", "own", "blank", "ratio"]
    assert accuracy_cells(table["all"]).split()[-3:] == ["47.5%", "52.5%", "0.45"]
    assert result.worst()[0]["rel_path"] == "spiky" and result.worst()[0]["ownership_pct"] == pytest.approx(10.0)
    report = format_report(result)
    assert "  47.5%   52.5%    0.45" in report
    no_ownership = {key: value for key, value in table["all"].items() if key != "ownership_pct"}
    assert accuracy_cells(no_ownership).split()[-3:] == ["-", "52.5%", "0.45"]


@pytest.fixture(scope="module")
def oracle(demo_corpus, tmp_path_factory):
    """Reference-derived durations of the demo corpus."""
    out = tmp_path_factory.mktemp("oracle")
    assert reference_durations(demo_corpus, out) >= 14
    return out


def scored_utterance(corpus, durations_dir):
    for utterance in read_metadata(corpus):
        reference = json.loads((corpus / "reference" / f"{utterance.rel_path}.json").read_text())
        if reference["phones_agree"]:
            ipa = to_phonemes(utterance.text, utterance.language)
            return ipa, load_durations(durations_dir / f"{utterance.rel_path}.pt").numpy(), reference
    raise AssertionError("no utterance with agreeing phones")


def test_reference_derived_durations_score_near_the_grid_ceiling(demo_corpus, oracle):
    result = evaluate(demo_corpus, oracle)
    overall = result.by_language()["all"]
    assert overall["within_20ms"] >= 95.0
    assert overall["within_50ms"] == 100.0
    assert overall["mean_abs_ms"] < 8.0
    assert abs(overall["mean_signed_ms"]) < 2.0
    # every blank between two phones holds at least one frame, taken from the phones around it (80 % measured)
    assert overall["ownership_pct"] >= 70.0 and overall["ownership_pct"] + overall["blank_share_pct"] >= 95.0
    assert 0.65 <= overall["median_duration_ratio"] <= 1.0
    assert not any(result.contract[c] for c in ("length_mismatch", "zero_durations", "sum_mismatch"))
    assert len(result.contract["missing"]) == len(result.disagreeing) or not result.disagreeing


@pytest.mark.parametrize("k", [1, 3, -2, -4])
def test_a_shift_of_k_frames_moves_every_boundary_by_k_frames(demo_corpus, oracle, k):
    ipa, durations, reference = scored_utterance(demo_corpus, oracle)
    durations[0] += 5
    shifted = durations.copy()
    shifted[0] += k  # the leading blank grows or shrinks: every symbol moves by k frames
    before = boundary_errors_ms(ipa, durations, reference["phones"], frame_seconds(256, 24000))
    after = boundary_errors_ms(ipa, shifted, reference["phones"], frame_seconds(256, 24000))
    np.testing.assert_allclose(after - before, k * 256 / 24000 * 1000)


def test_permuted_and_misplaced_files_are_caught(demo_corpus, oracle, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(oracle, broken)
    files = sorted(broken.rglob("*.pt"))
    generator = torch.Generator().manual_seed(0)
    permuted = load_durations(files[0])
    save_durations(files[0], permuted[torch.randperm(len(permuted), generator=generator)])
    shutil.copy(files[2], files[1])  # another utterance's durations under this name
    files[3].unlink()
    result = evaluate(demo_corpus, broken)
    assert files[1].relative_to(broken).with_suffix("").as_posix() in result.contract["length_mismatch"]
    assert files[3].relative_to(broken).with_suffix("").as_posix() in result.contract["missing"]
    permuted_path = files[0].relative_to(broken).with_suffix("").as_posix()
    errors = np.abs(result.errors_ms[permuted_path])
    assert np.mean(errors <= 20) < 0.5, "a permuted file must score badly"


def test_contract_checks_zero_and_sum(demo_corpus, oracle, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(oracle, broken)
    files = sorted(broken.rglob("*.pt"))
    zero = load_durations(files[0])
    zero[1] += zero[0]
    zero[0] = 0
    save_durations(files[0], zero)
    longer = load_durations(files[1])
    longer[-1] += 2
    save_durations(files[1], longer)
    result = evaluate(demo_corpus, broken)
    assert result.contract["zero_durations"] == [files[0].relative_to(broken).with_suffix("").as_posix()]
    assert result.contract["sum_mismatch"] == [files[1].relative_to(broken).with_suffix("").as_posix()]
    assert "zero durations 1" in format_report(result)


def test_cli_prints_the_table_and_writes_json(demo_corpus, oracle, tmp_path, capsys):
    assert main(["--corpus", str(demo_corpus), "--durations", str(oracle), "--json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "<=20ms" in out and "en-us" in out and "all" in out and "contract:" in out
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["accuracy"]["all"]["boundaries"] > 100
    assert "own" in out and report["accuracy"]["all"]["ownership_pct"] > 50
    assert {"ownership_pct", "blank_share_pct", "median_duration_ratio"} <= set(report["worst"][0])
