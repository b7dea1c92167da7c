"""Speed perturbation of the training audio: faster is shorter and higher, drawn per utterance and epoch."""

import numpy as np
import pytest

from aligner.ctc.vocab import SAMPLING_RATE
from aligner.training.augment import SpeedPerturbation
from aligner.training.data import CTCCollator

KERNEL, STRIDE = [10, 3, 3, 3, 3, 2, 2], [5, 2, 2, 2, 2, 2, 2]


def tone(hz: float, seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLING_RATE)) / SAMPLING_RATE
    wave = np.sin(2 * np.pi * hz * t)
    return ((wave - wave.mean()) / wave.std()).astype(np.float32)


def peak_hz(audio: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(audio))
    return float(np.fft.rfftfreq(len(audio), 1 / SAMPLING_RATE)[spectrum.argmax()])


def only(factor: float) -> SpeedPerturbation:
    return SpeedPerturbation((factor,), seed=0, conv_kernel=KERNEL, conv_stride=STRIDE)


def test_a_faster_utterance_is_shorter_and_higher_by_the_factor_and_stays_normalised():
    audio = tone(440.0, 1.0)
    faster = only(1.1)(audio, "a", [5, 6])
    slower = only(0.9)(audio, "a", [5, 6])
    assert len(faster) == pytest.approx(SAMPLING_RATE / 1.1, abs=2)
    assert len(slower) == pytest.approx(SAMPLING_RATE / 0.9, abs=2)
    assert peak_hz(faster) == pytest.approx(484.0, abs=2)
    assert peak_hz(slower) == pytest.approx(396.0, abs=2)
    assert abs(faster.mean()) < 1e-3 and faster.std() == pytest.approx(1.0, abs=1e-3)
    assert only(1.0)(audio, "a", [5, 6]) is audio


def test_an_utterance_sped_below_the_frames_its_targets_need_keeps_its_speed():
    audio = tone(300.0, 0.2)  # 10 CTC frames (20 ms each, the standard encoder)
    assert len(only(1.1)(audio, "a", [5, 6, 7, 8])) < len(audio)
    assert only(1.1)(audio, "a", [5] * 10) is audio  # 10 repeats need 19 frames


@pytest.mark.parametrize("factors", [(0.9, 1.1), (0.9, 1.0, 1.1), (0.8, 0.9, 1.1, 1.2)])
def test_each_utterance_draws_its_own_factor_every_epoch(factors):
    """Not one flip for all: between two epochs about (n - 1) / n of the utterances change factor, whatever n."""
    speed = SpeedPerturbation(factors, seed=3, conv_kernel=KERNEL, conv_stride=STRIDE)
    keys = [f"spk/{i:04d}" for i in range(300)]
    draws = []
    for epoch in range(6):
        speed.set_epoch(epoch)
        draws.append([speed.factor(k) for k in keys])
    expected = (len(factors) - 1) / len(factors)
    for epoch in range(1, 6):
        changed = np.mean([a != b for a, b in zip(draws[0], draws[epoch], strict=True)])
        assert abs(changed - expected) < 0.12, (epoch, changed)
    assert len({tuple(d[k] for d in draws) for k in range(300)}) > 40  # many per-utterance patterns


def test_unnormalised_input_stays_unnormalised():
    audio = 0.1 * tone(440.0, 1.0)
    speed = SpeedPerturbation((1.1,), seed=0, conv_kernel=KERNEL, conv_stride=STRIDE, normalise=False)
    assert speed(audio, "a", [5]).std() == pytest.approx(0.1, abs=0.005)


def test_the_draw_is_fixed_by_seed_epoch_and_utterance_and_covers_the_factors():
    speed = SpeedPerturbation((0.9, 1.0, 1.1), seed=3, conv_kernel=KERNEL, conv_stride=STRIDE)
    keys = [f"spk/{i:04d}" for i in range(300)]
    first = [speed.factor(k) for k in keys]
    assert first == [speed.factor(k) for k in keys]
    assert {f: first.count(f) for f in (0.9, 1.0, 1.1)} == pytest.approx({0.9: 100, 1.0: 100, 1.1: 100}, abs=25)
    speed.set_epoch(1)
    second = [speed.factor(k) for k in keys]
    assert 0.5 < np.mean([a != b for a, b in zip(first, second, strict=True)]) < 0.85  # 2/3 by chance
    again = SpeedPerturbation((0.9, 1.0, 1.1), seed=3, conv_kernel=KERNEL, conv_stride=STRIDE, epoch=1)
    assert [again.factor(k) for k in keys] == second


def test_the_collator_pads_the_perturbed_audio():
    rows = [
        {"rel_path": "a", "input_values": tone(200.0, 0.5), "labels": [3, 4]},
        {"rel_path": "b", "input_values": tone(200.0, 0.4), "labels": [5]},
    ]
    batch = CTCCollator(only(1.1))(rows)
    lengths = [round(0.5 * SAMPLING_RATE / 1.1), round(0.4 * SAMPLING_RATE / 1.1)]
    assert batch["input_lengths"].tolist() == pytest.approx(lengths, abs=2)
    assert batch["attention_mask"].sum(dim=1).tolist() == batch["input_lengths"].tolist()
    assert batch["labels"].tolist() == [[3, 4], [5, -100]]


def test_factors_must_be_speeds_of_speech():
    for factors in ((1.0, 0.0), (1.0, 3.0), (True,), ()):
        with pytest.raises(ValueError, match="speed factors must be a list of numbers from 0.5 to 2"):
            SpeedPerturbation(factors, seed=0, conv_kernel=KERNEL, conv_stride=STRIDE)
