"""python -m aligner.mels: upstream Matcha's mels for a corpus without a Matcha of its own."""

from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from aligner.audio import mel_spectrogram
from aligner.corpus import mel_path, read_metadata
from aligner.mels import main


def make_corpus(root: Path, lines: list[str], rates: dict[str, int] | None = None) -> Path:
    (root / "metadata.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for line in lines:
        rel_path = line.split("|")[0]
        rate = (rates or {}).get(rel_path, 24000)
        wav = root / "wavs" / f"{rel_path}.wav"
        wav.parent.mkdir(parents=True, exist_ok=True)
        t = np.arange(int(0.5 * rate)) / rate
        sf.write(wav, 0.3 * np.sin(2 * np.pi * 200 * t), rate, subtype="PCM_16")
    return root


def test_writes_mels_with_matcha_frame_count_and_keeps_existing(tmp_path):
    corpus = make_corpus(tmp_path, ["0/0001|0|en-us|Hello world.", "1/0001|1|fr-fr|Bonjour | toi."])
    assert main(["--corpus", str(corpus)]) == 0
    mel = np.load(mel_path(corpus, "0/0001"))
    assert mel.dtype == np.float32 and mel.shape == (80, 12000 // 256)
    assert read_metadata(corpus)[1].text == "Bonjour | toi."

    np.save(mel_path(corpus, "0/0001"), np.zeros((80, 3), dtype=np.float32))
    assert main(["--corpus", str(corpus)]) == 0
    assert np.load(mel_path(corpus, "0/0001")).shape == (80, 3), "existing mel must not be overwritten"
    assert main(["--corpus", str(corpus), "--overwrite"]) == 0
    assert np.load(mel_path(corpus, "0/0001")).shape == (80, 46)


def test_other_sample_rate_is_refused_by_name_unless_resampling(tmp_path, capsys):
    corpus = make_corpus(tmp_path, ["0/0001|0|en-us|Hello.", "0/0002|0|en-us|Hi."], rates={"0/0002": 22050})
    assert main(["--corpus", str(corpus)]) == 1
    err = capsys.readouterr().err
    assert "0002.wav" in err and "22050" in err
    assert not mel_path(corpus, "0/0002").exists()
    assert main(["--corpus", str(corpus), "--resample"]) == 0
    assert np.load(mel_path(corpus, "0/0002")).shape == (80, 12000 // 256)


def test_truncated_wav_is_refused_by_name(tmp_path, capsys):
    corpus = make_corpus(tmp_path, ["0/0001|0|en-us|Hello.", "0/0002|0|en-us|Hi."])
    wav = corpus / "wavs" / "0" / "0002.wav"
    wav.write_bytes(wav.read_bytes()[:5000])
    assert main(["--corpus", str(corpus)]) == 1
    assert f"{wav}: truncated wav" in capsys.readouterr().err
    assert mel_path(corpus, "0/0001").exists() and not mel_path(corpus, "0/0002").exists()


def test_a_bad_metadata_line_fails_alone(tmp_path, capsys):
    corpus = make_corpus(tmp_path, ["0/0001|0|en-us|Hello.", "0/0002|0|en-us|", "0/0003|0|en-us|Hi."])
    assert main(["--corpus", str(corpus)]) == 1
    captured = capsys.readouterr()
    assert "metadata.csv:2: empty text" in captured.err and "2 written, 0 already there, 1 failed" in captured.out
    assert mel_path(corpus, "0/0001").is_file() and mel_path(corpus, "0/0003").is_file()
    assert not mel_path(corpus, "0/0002").exists()


def test_a_22050_hz_corpus_gets_upstream_mels_at_its_own_rate_and_its_yamls_settings(tmp_path, capsys):
    corpus = make_corpus(tmp_path, ["0/0001|0|en-us|Hello."], rates={"0/0001": 22050})
    assert main(["--corpus", str(corpus)]) == 0
    assert "(22050 Hz, hop 256)" in capsys.readouterr().out
    audio, rate = sf.read(corpus / "wavs" / "0" / "0001.wav", dtype="float32")
    expected = mel_spectrogram(torch.from_numpy(audio), rate)[0].numpy()
    np.testing.assert_array_equal(np.load(mel_path(corpus, "0/0001")), expected)
    config = tmp_path / "c.yaml"
    config.write_text(
        f"train_filelist_path: {corpus / 'metadata.csv'}\nmel_dir: {tmp_path / 'm100'}\nsample_rate: 22050\n"
        "hop_length: 128\nn_feats: 100\nf_max: 11025\n",
        encoding="utf-8",
    )
    assert main(["--data-config", str(config)]) == 0
    assert np.load(tmp_path / "m100" / "0" / "0001.npy").shape == (100, len(audio) // 128)
