"""The scorer on a real demo corpus: ceiling of reference-derived durations, shifts, permutations."""

import json
import shutil

import numpy as np
import pytest
import torch

from aligner.align.timing import frame_seconds
from aligner.evaluate.reference_durations import reference_durations
from aligner.evaluate.score import boundary_errors_ms, evaluate, format_report, main
from matcha.text import to_phonemes
from matcha.utils.durations import load_durations, save_durations
from matcha.utils.precompute_corpus import read_metadata


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
    assert not any(result.contract[c] for c in ("length_mismatch", "zero_durations", "sum_mismatch"))
    assert len(result.contract["missing"]) == len(result.disagreeing) or not result.disagreeing


@pytest.mark.parametrize("k", [1, 3, -2, -4])
def test_a_shift_of_k_frames_moves_every_boundary_by_k_frames(demo_corpus, oracle, k):
    ipa, durations, reference = scored_utterance(demo_corpus, oracle)
    durations[0] += 5
    shifted = durations.copy()
    shifted[0] += k  # the leading blank grows or shrinks: every symbol moves by k frames
    before = boundary_errors_ms(ipa, durations, reference["phones"], frame_seconds())
    after = boundary_errors_ms(ipa, shifted, reference["phones"], frame_seconds())
    np.testing.assert_allclose(after - before, k * 256 / 24000 * 1000)
    assert abs(k * 256 / 24000 * 1000 - k * 10.667) < 0.01


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
