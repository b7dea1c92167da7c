"""aligner.corpus: the filelists, folders and data YAML every tool reads a corpus through."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from aligner.corpus import Corpus, CorpusError, MetadataError, read_metadata


@pytest.mark.parametrize(
    "content, message",
    [
        (b"0/0001|0|en-us\n", "expected 4 fields"),
        (b"0/0001|x|en-us|Hello\n", "speaker id 'x'"),
        (b"0/0001|0|en-us|Hello\n0/0001|0|en-us|Again\n", "repeats line 1"),
        (b"0/0001|0|en-us|caf\xe9\n", "not valid UTF-8"),
        (b"0/0001|0|en-us|   \n", "empty text"),
        (b"../x|0|en-us|Hello\n", "inside the corpus"),
    ],
)
def test_malformed_metadata_names_file_line_and_cause(tmp_path, content, message):
    (tmp_path / "metadata.csv").write_bytes(content)
    with pytest.raises(MetadataError, match=message) as error:
        read_metadata(tmp_path)
    assert "metadata.csv:" in str(error.value)


def test_problems_are_collected_instead_of_raised_when_asked(tmp_path):
    (tmp_path / "metadata.csv").write_bytes(
        b"0/0001|0|en-us|Hello\n0/0002|x|en-us|Hi\n\n0/0001|0|en-us|Again\nbad line\n0/0003|0|de|Hallo\n"
    )
    problems: list[MetadataError] = []
    utterances = read_metadata(tmp_path, problems)
    assert [u.rel_path for u in utterances] == ["0/0001", "0/0003"]
    assert [(p.line, p.rel_path) for p in problems] == [(2, "0/0002"), (4, None), (5, None)]
    assert "speaker id 'x'" in str(problems[0]) and "repeats line 1" in str(problems[1])


def test_a_fork_layout_reads_every_csv_with_wav_and_mels_folders(tmp_path):
    (tmp_path / "train.csv").write_text("0/0001|0|en-us|Hello.\n0/0002|0|en-us|Hi.\n", encoding="utf-8")
    (tmp_path / "validate.csv").write_text("1/0001|1|fr-fr|Bonjour.\n", encoding="utf-8")
    (tmp_path / "wav").mkdir()
    (tmp_path / "mels").mkdir()
    corpus = Corpus.open(tmp_path)
    assert [u.rel_path for u in corpus.read()] == ["0/0001", "0/0002", "1/0001"]
    assert corpus.read()[0].wav == tmp_path / "wav" / "0" / "0001.wav"
    assert corpus.mel("1/0001") == tmp_path / "mels" / "1" / "0001.npy"
    assert corpus.durations_dir == tmp_path / "durations"


def test_upstream_layout_wavs_and_mel_folders(tmp_path):
    (tmp_path / "metadata.csv").write_text("0/0001|0|en-us|Hello.\n", encoding="utf-8")
    (tmp_path / "wavs").mkdir()
    (tmp_path / "mel").mkdir()
    corpus = Corpus.open(tmp_path)
    assert corpus.read()[0].wav == tmp_path / "wavs" / "0" / "0001.wav"
    assert corpus.mel("0/0001") == tmp_path / "mel" / "0" / "0001.npy"


def test_without_a_mel_folder_the_corpus_has_no_mel_files(tmp_path):
    (tmp_path / "metadata.csv").write_text("0/0001|0|en-us|Hello.\n", encoding="utf-8")
    assert Corpus.open(tmp_path).mel("0/0001") is None


def test_a_rel_path_in_two_filelists_stops_naming_both(tmp_path):
    (tmp_path / "train.csv").write_text("0/0001|0|en-us|Hello.\n0/0002|0|en-us|Hi.\n", encoding="utf-8")
    (tmp_path / "validate.csv").write_text("0/0002|0|en-us|Hi again.\n", encoding="utf-8")
    with pytest.raises(CorpusError) as error:
        Corpus.open(tmp_path).read(problems=[])
    assert "'0/0002'" in str(error.value)
    assert f"{tmp_path / 'train.csv'}:2" in str(error.value) and f"{tmp_path / 'validate.csv'}:1" in str(error.value)


def test_no_filelist_is_a_named_error(tmp_path):
    with pytest.raises(CorpusError, match="no filelist"):
        Corpus.open(tmp_path)


def test_a_matcha_data_yaml_names_filelists_mels_hop_and_add_blank(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # Matcha reads the YAML's relative paths from its root
    root = Path("data/c")
    root.mkdir(parents=True)
    (root / "train.csv").write_text("0/0001|0|en-us|Hello.\n", encoding="utf-8")
    (root / "validate.csv").write_text("0/0002|0|en-us|Hi.\n", encoding="utf-8")
    (root / "other.csv").write_text("not|a|filelist\n", encoding="utf-8")
    config = Path("c.yaml")
    config.write_text(
        "train_filelist_path: data/c/train.csv\nvalid_filelist_path: data/c/validate.csv\nmel_dir: data/c/m100\n"
        "sample_rate: 24000\nhop_length: 128\nadd_blank: False\nn_feats: 100\n",
        encoding="utf-8",
    )
    corpus = Corpus.open(None, config)
    assert corpus.root == root and corpus.filelists == (root / "train.csv", root / "validate.csv")
    assert [u.rel_path for u in corpus.read()] == ["0/0001", "0/0002"]  # other.csv is not one of its filelists
    assert corpus.mel("0/0001") == Path("data/c/m100/0/0001.npy")
    assert (corpus.hop_length, corpus.add_blank) == (128, False)


def write_wav(path: Path, rate: int, seconds: float = 0.5) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.zeros(int(rate * seconds), dtype=np.float32), rate, subtype="PCM_16")


def test_the_corpus_rate_is_the_yamls_else_the_one_most_wavs_have(tmp_path):
    lines = [f"0/{i}|0|en-us|Hello." for i in range(3)]
    (tmp_path / "metadata.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for i, rate in enumerate([22050, 16000, 22050]):
        write_wav(tmp_path / "wavs" / "0" / f"{i}.wav", rate)
    corpus = Corpus.open(tmp_path)
    assert corpus.sample_rate == 22050 and corpus.rate_source() == "the rate of 2 of its 3 wavs"
    assert corpus.frame_seconds == pytest.approx(256 / 22050)
    config = tmp_path / "c.yaml"
    config.write_text(f"train_filelist_path: {tmp_path / 'metadata.csv'}\nsample_rate: 16000\n", encoding="utf-8")
    assert Corpus.open(None, config).sample_rate == 16000


def test_the_corpus_audio_is_summed_from_the_wav_headers_of_every_rate(tmp_path):
    lines = [f"0/{i}|0|en-us|Hello." for i in range(4)]
    (tmp_path / "metadata.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for i, (rate, seconds) in enumerate([(22050, 1.5), (16000, 0.5), (24000, 2.0)]):
        write_wav(tmp_path / "wavs" / "0" / f"{i}.wav", rate, seconds)
    (tmp_path / "wavs" / "0" / "3.wav").write_bytes(b"not a wav")  # unreadable: left out
    assert Corpus.open(tmp_path).audio_hours == pytest.approx(4.0 / 3600)


def test_a_data_yaml_whose_rate_is_not_the_wavs_stops_naming_both_rates_and_a_wav(tmp_path):
    (tmp_path / "train.csv").write_text("0/0001|0|en-us|Hello.\n", encoding="utf-8")
    write_wav(tmp_path / "wavs" / "0" / "0001.wav", 24000)
    config = tmp_path / "c.yaml"
    config.write_text(f"train_filelist_path: {tmp_path / 'train.csv'}\nsample_rate: 22050\n", encoding="utf-8")
    corpus = Corpus.open(None, config)
    with pytest.raises(CorpusError) as error:
        corpus.check_rates()
    message = str(error.value)
    assert (
        "sample_rate 22050 Hz" in message and "at 24000 Hz" in message and "0001.wav" in message and "c.yaml" in message
    )


def test_upstream_ljspeech_filelist_and_yaml_as_they_are(tmp_path, monkeypatch):
    """Upstream's ljspeech.yaml values and its filelist format: wav paths from the Matcha root, wav|text,
    the language from english_cleaners2; a text holding '|' is cut there, as upstream's parse_filelist cuts it."""
    monkeypatch.chdir(tmp_path)
    Path("data/filelists").mkdir(parents=True)
    Path("data/filelists/ljs_audio_text_train_filelist.txt").write_text(
        "data/LJSpeech-1.1/wavs/LJ001-0001.wav|Printing, in the only sense.\n"
        "data/LJSpeech-1.1/wavs/LJ001-0002.wav|In being comparatively modern.|ignored\n",
        encoding="utf-8",
    )
    Path("data/filelists/ljs_audio_text_val_filelist.txt").write_text(
        f"{tmp_path}/data/LJSpeech-1.1/wavs/LJ001-0003.wav|For although the Chinese took.\n", encoding="utf-8"
    )
    Path("ljspeech.yaml").write_text(
        "train_filelist_path: data/filelists/ljs_audio_text_train_filelist.txt\n"
        "valid_filelist_path: data/filelists/ljs_audio_text_val_filelist.txt\ncleaners: [english_cleaners2]\n"
        "add_blank: True\nn_spks: 1\nn_fft: 1024\nn_feats: 80\nsample_rate: 22050\nhop_length: 256\n"
        "win_length: 1024\nf_min: 0\nf_max: 8000\nload_durations: false\n",
        encoding="utf-8",
    )
    corpus = Corpus.open(None, "ljspeech.yaml")
    utterances = corpus.read()
    assert corpus.upstream_layout and corpus.mel_dir is None and corpus.sample_rate == 22050
    assert [(u.rel_path, u.spk_id, u.language) for u in utterances] == [
        ("data/LJSpeech-1.1/wavs/LJ001-0001", 0, "en-us"),
        ("data/LJSpeech-1.1/wavs/LJ001-0002", 0, "en-us"),
        (f"{tmp_path}/data/LJSpeech-1.1/wavs/LJ001-0003".lstrip("/"), 0, "en-us"),
    ]
    assert utterances[1].text == "In being comparatively modern."
    assert utterances[0].wav == Path("data/LJSpeech-1.1/wavs/LJ001-0001.wav")
    assert utterances[2].wav == tmp_path / "data/LJSpeech-1.1/wavs/LJ001-0003.wav"


def test_upstream_vctk_yaml_builds_on_ljspeech_through_its_defaults(tmp_path):
    (tmp_path / "train.txt").write_text("wavs/p225/p225_001.wav|3|Please call Stella.\n", encoding="utf-8")
    (tmp_path / "ljspeech.yaml").write_text(
        "train_filelist_path: nowhere.txt\ncleaners: [english_cleaners2]\nn_spks: 1\nsample_rate: 22050\n"
        "hop_length: 256\n",
        encoding="utf-8",
    )
    (tmp_path / "vctk.yaml").write_text(
        f"defaults:\n  - ljspeech\n  - _self_\n\ntrain_filelist_path: {tmp_path / 'train.txt'}\nn_spks: 109\n",
        encoding="utf-8",
    )
    corpus = Corpus.open(None, tmp_path / "vctk.yaml")
    assert (corpus.n_spks, corpus.configured_rate, corpus.hop_length, corpus.language) == (109, 22050, 256, "en-us")
    (utterance,) = corpus.read()
    assert (utterance.rel_path, utterance.spk_id, utterance.text) == ("wavs/p225/p225_001", 3, "Please call Stella.")


@pytest.mark.parametrize(
    "n_spks, line, message",
    [
        (109, "wavs/a.wav|Hello.\n", "n_spks > 1"),
        (1, "wavs/a.wav\n", "got 1 field"),
        (1, "../a.wav|Hello.\n", "must not climb out"),
    ],
)
def test_malformed_upstream_lines_name_the_file_and_line(tmp_path, n_spks, line, message):
    good = "wavs/b.wav|0|Fine.\n" if n_spks > 1 else "wavs/b.wav|Fine.\n"
    (tmp_path / "train.txt").write_text(good + line, encoding="utf-8")
    config = tmp_path / "c.yaml"
    config.write_text(
        f"train_filelist_path: {tmp_path / 'train.txt'}\ncleaners: [english_cleaners2]\nn_spks: {n_spks}\n",
        encoding="utf-8",
    )
    with pytest.raises(MetadataError, match=message) as error:
        Corpus.open(None, config).read()
    assert f"{tmp_path / 'train.txt'}:2" in str(error.value)


def test_upstream_filelists_whose_cleaners_do_not_say_the_language_need_one(tmp_path):
    (tmp_path / "train.txt").write_text("wavs/a.wav|Hallo.\n", encoding="utf-8")
    config = tmp_path / "c.yaml"
    config.write_text(f"train_filelist_path: {tmp_path / 'train.txt'}\ncleaners: [basic_cleaners]\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="--language"):
        Corpus.open(None, config)
    assert Corpus.open(None, config, language="de").read()[0].language == "de"
