"""The acoustic stage against known answers: pause rules, Gaussians, durations from peaked CTC
emissions and from clean features, and the CTC offset Viterbi training sets from the corpus itself."""

import math
import shutil

import numpy as np
import pytest
import torch

from aligner.acoustic.features import acoustic_features
from aligner.acoustic.model import PAUSE_CLASS, AcousticModel, AcousticStage, GaussianStats, training_labels
from aligner.acoustic.train import StageOptions, TrainingUtterance, fit_acoustic_stage, viterbi_training
from aligner.audio import mel_spectrogram
from aligner.extract.methods import align
from aligner.search.scores import CTC_FRAME_SECONDS, NOMINAL_OFFSET_SECONDS
from aligner.search.timing import frame_seconds
from aligner.text import BLANK_ID, SPACE_ID, symbol_to_id, symbols

A, B = symbol_to_id["a"], symbol_to_id["b"]
HOP = frame_seconds(256, 24000)


def test_training_labels_train_the_pause_on_real_pauses_only():
    c = symbol_to_id["k"]
    tokens = [BLANK_ID, A, BLANK_ID, B, BLANK_ID, SPACE_ID, BLANK_ID, c, BLANK_ID, A, BLANK_ID]
    durations = torch.tensor([4, 3, 1, 3, 2, 3, 1, 3, 4, 2, 5])
    labels = training_labels(tokens, durations).tolist()
    assert labels == (
        [PAUSE_CLASS] * 4  # leading silence
        + [A] * 3
        + [-1]  # one-frame junction between a and b
        + [B] * 3
        + [PAUSE_CLASS] * 6  # blank, space, blank: a pause
        + [c] * 3
        + [-1] * 4  # four frames of a blank between two phones: a CTC junction, not a pause
        + [A] * 2
        + [PAUSE_CLASS] * 5  # trailing silence
    )


def test_gaussians_are_the_maximum_likelihood_fit_and_score_as_the_normal_density():
    generator = torch.Generator().manual_seed(0)
    a_frames = 2.0 + 0.5 * torch.randn(4000, 3, generator=generator)
    b_frames = -1.0 + 1.0 * torch.randn(4000, 3, generator=generator)
    stats = GaussianStats.empty(3)
    stats.add(torch.cat([a_frames, b_frames]), torch.tensor([A] * 4000 + [B] * 4000))
    model = AcousticModel.from_stats(stats)
    assert torch.allclose(model.means[A], a_frames.mean(0), atol=1e-5)
    assert torch.allclose(model.variances[B], b_frames.var(0, unbiased=False), atol=1e-4)
    assert model.counts[A] == 4000 and model.counts[symbol_to_id["k"]] == 0
    x = torch.tensor([[0.3, -0.2, 1.0], [2.0, 2.0, 2.0]])
    scores = model.log_likelihoods(x, torch.tensor([A, B]))
    for k, cls in enumerate([A, B]):
        normal = torch.distributions.Normal(model.means[cls], model.variances[cls].sqrt())
        expected = normal.log_prob(x).sum(-1) + 0.5 * 3 * math.log(2 * math.pi)
        assert torch.allclose(scores[k], expected, atol=1e-4)


def spiked_log_probs(n_ctc_frames: int, spikes: dict[int, int]) -> torch.Tensor:
    """CTC log-posteriors: the blank everywhere but at ``spikes`` (CTC frame -> symbol)."""
    log_probs = torch.full((n_ctc_frames, len(symbols)), -10.0)
    log_probs[:, BLANK_ID] = -0.01
    for frame, symbol in spikes.items():
        log_probs[frame, BLANK_ID] = -10.0
        log_probs[frame, symbol] = -0.01
    return log_probs


def clean_features(layout: list[tuple[int, int]], generator: torch.Generator) -> torch.Tensor:
    """Frames [sum of lengths, 4]: per (class, length) segment, the class's corner of the space plus noise."""
    corner = {PAUSE_CLASS: torch.zeros(4), A: torch.tensor([6.0, 0, 0, 0]), B: torch.tensor([0, 6.0, 0, 0])}
    rows = [corner[cls].expand(n, 4) for cls, n in layout]
    features = torch.cat(rows)
    return features + 0.3 * torch.randn(features.shape, generator=generator)


def fitted_model(layout: list[tuple[int, int]], generator: torch.Generator) -> AcousticModel:
    stats = GaussianStats.empty(4)
    for _ in range(5):
        labels = torch.tensor([cls for cls, n in layout for _ in range(n)])
        stats.add(clean_features(layout, generator), labels)
    return AcousticModel.from_stats(stats)


def test_peaked_ctc_emissions_give_phones_their_spikes_and_blanks_the_rest_with_mel_method():
    # 60 mel frames (640 ms); spikes of a at CTC frame 10 (212.5 ms) and b at 20 (412.5 ms): a phone wins
    # the mel frames whose centre lies within 10 ms of its spike (19 and 20; 38 and 39).
    log_probs = spiked_log_probs(32, {10: A, 20: B})
    tokens = [BLANK_ID, A, BLANK_ID, B, BLANK_ID]
    (result,) = align([log_probs], [tokens], [60], HOP, method="mel", offset=NOMINAL_OFFSET_SECONDS)
    assert result.durations.tolist() == [19, 2, 17, 2, 20]


def test_acoustic_method_gives_each_phone_its_frames_and_the_junction_blank_one():
    generator = torch.Generator().manual_seed(1)
    layout = [(PAUSE_CLASS, 10), (A, 20), (PAUSE_CLASS, 1), (B, 20), (PAUSE_CLASS, 9)]
    model = fitted_model(layout, generator)
    features = clean_features(layout, generator)
    log_probs = spiked_log_probs(32, {10: A, 20: B})
    tokens = [BLANK_ID, A, BLANK_ID, B, BLANK_ID]
    for weight in (0.0, 3.0):
        (result,) = align(
            [log_probs], [tokens], [60], HOP, "acoustic", True, NOMINAL_OFFSET_SECONDS,
            AcousticStage(model, weight), [features],
        )  # fmt: skip
        assert result.durations.tolist() == [10, 20, 1, 20, 9]
        assert result.mean_log_prob < -1.0  # the CTC score along the path: most frames are not spikes


def test_viterbi_training_sets_the_ctc_offset_from_the_corpus_itself():
    """CTC spikes 30 ms after the centres of equally long phones: the seed's junctions are 30 ms late,
    the acoustic alignment's are right, so the offset moves 30 ms earlier than the nominal one."""
    generator = torch.Generator().manual_seed(2)
    lag = 0.030
    items = []
    for lead in (8, 12, 15, 10, 9, 14):
        phones = [A, B, A, B]
        layout = [(PAUSE_CLASS, lead)] + [(cls, 15) for cls in phones] + [(PAUSE_CLASS, 10)]
        n_frames = sum(n for _, n in layout)
        centres = [(lead + 15 * k + 7.5) * HOP for k in range(4)]
        n_ctc = math.ceil(n_frames * HOP / CTC_FRAME_SECONDS)
        spikes = {
            round((c + lag - NOMINAL_OFFSET_SECONDS) / CTC_FRAME_SECONDS): cls
            for c, cls in zip(centres, phones, strict=True)
        }
        tokens = [BLANK_ID, A, BLANK_ID, B, BLANK_ID, A, BLANK_ID, B, BLANK_ID]
        ctc = spiked_log_probs(n_ctc, spikes)[:, tokens].T
        features = clean_features(layout, generator)
        items.append(TrainingUtterance(f"u{len(items)}", "abab", tokens, features, ctc, HOP))
    model, offset, history, _ = viterbi_training(items, rounds=3, min_change=0.0, ctc_weight=3.0)
    assert offset == pytest.approx(NOMINAL_OFFSET_SECONDS - lag, abs=CTC_FRAME_SECONDS / 4)
    assert history[0]["offset_ms"] == pytest.approx(1000 * offset, abs=0.01)
    assert model.counts[A] > 0 and model.counts[B] > 0
    plain = StageOptions(lda_dims=0, context=False, n_states=1)
    adapted = StageOptions(lda_dims=0, context=False, n_states=1, speaker_adaptation=True)
    one_speaker = viterbi_training(items, 3, 0.0, 3.0, options=adapted)
    assert one_speaker[3] is None  # one speaker: no transform, the stage as without adaptation
    assert torch.equal(one_speaker[0].means, viterbi_training(items, 3, 0.0, 3.0, options=plain)[0].means)


def test_features_have_one_normalised_row_per_mel_frame_centred_on_it():
    """A click at sample 24000 lies at the centre of mel frame 93 ((93 + 0.5) * 256 = 23936 + 128): the
    short-window energy peaks there; the 80 Matcha bands are upstream's mel of the wav exactly."""
    wav = np.random.default_rng(0).normal(0, 1e-3, 48000).astype(np.float32)
    wav[93 * 256 + 128] = 1.0
    features = acoustic_features(wav, 24000, 187, HOP)
    assert features.shape == (187, 360)
    assert torch.allclose(features.mean(0), torch.zeros(360), atol=1e-4)
    assert torch.allclose(features.std(0, unbiased=False), torch.ones(360), atol=1e-2)
    assert int(features[:, 80:120].sum(1).argmax()) == 93
    mel = mel_spectrogram(torch.from_numpy(wav), 24000)[0]
    upstream = ((mel - mel.mean(1, keepdim=True)) / (mel.std(1, unbiased=False, keepdim=True) + 1e-5)).T
    assert torch.allclose(features[:, :80], upstream, atol=1e-3)


@pytest.mark.parametrize("rate, hop", [(22050, 256), (16000, 256), (44100, 512), (24000, 128)])
def test_features_follow_the_grid_of_any_rate_and_hop(rate, hop):
    """The same click at 0.9 s in a wav of any rate lands in the frame whose centre is nearest 0.9 s, and the
    spectra of a 24 kHz-fitted stage's bands are those of the same sound at 24 kHz (the wav is resampled)."""
    seconds = hop / rate
    wav = np.random.default_rng(1).normal(0, 1e-3, 2 * rate).astype(np.float32)
    wav[int(0.9 * rate)] = 1.0
    n_frames = len(wav) // hop
    features = acoustic_features(wav, rate, n_frames, seconds)
    assert features.shape == (n_frames, 360)
    assert int(features[:, 80:120].sum(1).argmax()) == round(0.9 / seconds - 0.5)
    centred = acoustic_features(wav, rate, n_frames + 1, seconds, centred=True)
    assert int(centred[:, 80:120].sum(1).argmax()) == round(0.9 / seconds)


def test_a_tone_gives_the_same_features_at_22050_and_24000_hz():
    """A 440 Hz tone with a 1 kHz burst: frames of equal times have nearly equal static features."""

    def tone(rate: int) -> np.ndarray:
        t = np.arange(int(1.5 * rate)) / rate
        burst = ((t > 0.5) & (t < 0.8)) * 0.3 * np.sin(2 * np.pi * 1000 * t)
        return (0.3 * np.sin(2 * np.pi * 440 * t) + burst).astype(np.float32)

    seconds = 0.01  # the same frame times for both
    a = acoustic_features(tone(24000), 24000, 140, seconds)[:, :120]
    b = acoustic_features(tone(22050), 22050, 140, seconds)[:, :120]
    assert float((a - b).abs().mean()) < 0.05


def test_fitting_names_what_it_leaves_out_and_keeps_the_rest(corpus, checkpoint, tmp_path):
    folder = tmp_path / "aligner"
    shutil.copytree(checkpoint, folder)
    lines = (corpus / "metadata.csv").read_text().splitlines()
    first = lines[0].split("|")[0]
    (corpus / "metadata.csv").write_text("\n".join([*lines, "9/9999|0|en-us"]) + "\n")
    (corpus / "wavs" / f"{first}.wav").write_bytes(b"not a wav")
    result = fit_acoustic_stage(folder, corpus, rounds=1)
    assert result["utterances"] == len(lines) - 1
    assert any("metadata.csv" in s and "expected 4 fields" in s for s in result["skipped"]), result["skipped"]
    assert any(s.startswith(f"{first}:") for s in result["skipped"])
    assert AcousticModel.load(folder).counts.sum() > 0
