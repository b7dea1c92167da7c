"""Corpora at other sample rates and in upstream Matcha's own layout: 22.05 kHz LJSpeech-shaped filelists
without mel files, VCTK-shaped ones with speakers, wavs at the wrong rate, a YAML of another rate, a stage
fitted on audio of another band."""

import csv
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from aligner.corpus import read_metadata
from aligner.text import text_to_sequence
from matcha.utils.extract_durations import main

LJSPEECH_YAML = """_target_: matcha.data.text_mel_datamodule.TextMelDataModule
name: ljspeech
train_filelist_path: data/filelists/ljs_audio_text_train_filelist.txt
valid_filelist_path: data/filelists/ljs_audio_text_val_filelist.txt
batch_size: 32
cleaners: [english_cleaners2]
add_blank: True
n_spks: 1
n_fft: 1024
n_feats: 80
sample_rate: {rate}
hop_length: 256
win_length: 1024
f_min: 0
f_max: 8000
seed: ${{seed}}
load_durations: false
"""


def upstream_root(demo_corpus: Path, root: Path, rate: int, n_spks: int = 1) -> list[tuple[str, str, int]]:
    """An upstream Matcha root (cwd) holding the demo corpus's English utterances at ``rate`` as upstream's
    LJSpeech recipe lays them out (``n_spks`` > 1: with a speaker field, VCTK-style); (wav, text, samples)."""
    written = []
    train, valid = [], []
    for i, utterance in enumerate(u for u in read_metadata(demo_corpus) if u.language == "en-us"):
        audio, source_rate = sf.read(utterance.wav, dtype="float32")
        audio = soxr.resample(audio, source_rate, rate, quality="VHQ") if rate != source_rate else audio
        wav = f"data/LJSpeech-1.1/wavs/LJ{i:03d}-{utterance.spk_id:04d}.wav"
        (root / wav).parent.mkdir(parents=True, exist_ok=True)
        sf.write(root / wav, audio, rate, subtype="PCM_16")
        line = f"{wav}|{utterance.spk_id}|{utterance.text}" if n_spks > 1 else f"{wav}|{utterance.text}"
        (valid if i % 4 == 3 else train).append(line + "\n")
        written.append((wav, utterance.text, len(audio)))
    (root / "data/filelists").mkdir(parents=True)
    (root / "data/filelists/ljs_audio_text_train_filelist.txt").write_text("".join(train), encoding="utf-8")
    (root / "data/filelists/ljs_audio_text_val_filelist.txt").write_text("".join(valid), encoding="utf-8")
    config = LJSPEECH_YAML.format(rate=rate).replace("n_spks: 1", f"n_spks: {n_spks}")
    (root / "configs/data").mkdir(parents=True)
    (root / "configs/data/ljspeech.yaml").write_text(config, encoding="utf-8")
    return written


def extract(*extra: str) -> int:
    return main(["--data-config", "configs/data/ljspeech.yaml", "--device", "cpu", *extra])


@pytest.mark.parametrize("rate", [22050, 16000, 44100])
def test_upstreams_ljspeech_recipe_as_it_is_at_its_rate(demo_corpus, checkpoint, tmp_path, monkeypatch, capsys, rate):
    """Durations land where upstream's get_durations reads them, one per token after add_blank, summing to
    upstream's floor(samples / 256) frames at that rate; TextGrids end with the audio."""
    monkeypatch.chdir(tmp_path)
    utterances = upstream_root(demo_corpus, tmp_path, rate)
    assert extract("--checkpoint", str(checkpoint), "--textgrid") == 0
    err = capsys.readouterr().err
    assert f"mel grid: {rate} Hz (the sample_rate of configs/data/ljspeech.yaml), hop 256" in err
    assert "frame counts: floor(samples / hop)" in err
    for wav, text, samples in utterances:
        durations = np.load(Path(wav).parent.parent / "durations" / f"{Path(wav).stem}.npy").astype(int)
        ids, _ = text_to_sequence(text, "en-us", add_blank=True)
        assert len(durations) == len(ids) and durations.min() >= 1 and durations.sum() == samples // 256
        grid = (Path(wav).parent.parent / "textgrids" / f"{Path(wav).stem}.TextGrid").read_text()
        xmax = float(re.search(r"xmax = ([0-9.]+)", grid).group(1))
        assert xmax == pytest.approx(samples // 256 * 256 / rate, abs=1e-6)
    with open("data/LJSpeech-1.1/durations/alignment_summary.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(r["rel_path"] for r in rows) == sorted(str(Path(w).with_suffix("")) for w, _, _ in utterances)
    assert {r["status"] for r in rows} == {"ok"}


def test_a_vctk_shaped_filelist_reads_its_speakers(demo_corpus, checkpoint, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    utterances = upstream_root(demo_corpus, tmp_path, 22050, n_spks=109)
    speakers = {u.spk_id for u in read_metadata(demo_corpus) if u.language == "en-us"}
    assert len(speakers) > 1
    assert extract("--checkpoint", str(checkpoint)) == 0
    for wav, _, samples in utterances:
        assert np.load(Path(wav).parent.parent / "durations" / f"{Path(wav).stem}.npy").sum() == samples // 256


def test_a_wav_at_another_rate_fails_alone_naming_both_rates(demo_corpus, checkpoint, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    utterances = upstream_root(demo_corpus, tmp_path, 22050)
    odd = utterances[0][0]
    audio, _ = sf.read(odd, dtype="float32")
    sf.write(odd, soxr.resample(audio, 22050, 24000), 24000, subtype="PCM_16")
    assert extract("--checkpoint", str(checkpoint)) == 1
    assert f"{odd}: sample rate 24000 Hz, but the corpus is at 22050 Hz" in capsys.readouterr().out
    assert not (Path(odd).parent.parent / "durations" / f"{Path(odd).stem}.npy").exists()
    assert len(list(Path("data/LJSpeech-1.1/durations").glob("*.npy"))) == len(utterances) - 1
    assert (Path("data/LJSpeech-1.1/durations") / "alignment_summary.csv").is_file()


def test_a_yaml_whose_rate_is_not_the_wavs_stops_before_writing(demo_corpus, checkpoint, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    upstream_root(demo_corpus, tmp_path, 22050)
    config = Path("configs/data/ljspeech.yaml")
    config.write_text(config.read_text().replace("sample_rate: 22050", "sample_rate: 24000"))
    assert extract("--checkpoint", str(checkpoint)) == 2
    err = capsys.readouterr().err
    assert "sample_rate 24000 Hz" in err and "at 22050 Hz" in err and "LJ000-" in err
    assert not Path("data/LJSpeech-1.1/durations").exists()


def test_a_stage_fitted_at_24_khz_is_refused_on_8_khz_audio(demo_corpus, checkpoint, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    upstream_root(demo_corpus, tmp_path, 8000)
    config = Path("configs/data/ljspeech.yaml")  # 16 ms frames: at hop 256 (32 ms) the texts have too many tokens
    config.write_text(config.read_text().replace("hop_length: 256", "hop_length: 128"))
    assert extract("--checkpoint", str(checkpoint)) == 2
    err = capsys.readouterr().err
    assert "fitted on 24000 Hz audio" in err and "this corpus is at 8000 Hz" in err and "aligner.acoustic.train" in err
    assert extract("--checkpoint", str(checkpoint), "--method", "mel") == 0  # the CTC stage alone reads 16 kHz


def test_a_stage_fitted_on_the_22050_hz_corpus_records_its_grid(demo_corpus, checkpoint, tmp_path, monkeypatch):
    from aligner.acoustic.train import fit_acoustic_stage
    from aligner.corpus import Corpus

    monkeypatch.chdir(tmp_path)
    upstream_root(demo_corpus, tmp_path, 22050)
    folder = tmp_path / "aligner"
    shutil.copytree(checkpoint, folder)
    fit_acoustic_stage(folder, Corpus.open(None, "configs/data/ljspeech.yaml"), rounds=1)
    settings = json.loads((folder / "alignment.json").read_text())
    assert (settings["sample_rate"], settings["hop_length"]) == (22050, 256)
    assert extract("--checkpoint", str(folder)) == 0
