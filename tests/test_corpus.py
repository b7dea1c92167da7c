"""aligner.corpus: the filelists, folders and data YAML every tool reads a corpus through."""

from pathlib import Path

import pytest

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
    assert corpus.wav("0/0001") == tmp_path / "wav" / "0" / "0001.wav"
    assert corpus.mel("1/0001") == tmp_path / "mels" / "1" / "0001.npy"
    assert corpus.durations_dir == tmp_path / "durations"


def test_upstream_layout_wavs_and_mel_folders(tmp_path):
    (tmp_path / "metadata.csv").write_text("0/0001|0|en-us|Hello.\n", encoding="utf-8")
    (tmp_path / "wavs").mkdir()
    (tmp_path / "mel").mkdir()
    corpus = Corpus.open(tmp_path)
    assert corpus.wav("0/0001") == tmp_path / "wavs" / "0" / "0001.wav"
    assert corpus.mel("0/0001") == tmp_path / "mel" / "0" / "0001.npy"


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


def test_a_data_yaml_at_another_sample_rate_is_refused(tmp_path):
    (tmp_path / "train.csv").write_text("0/0001|0|en-us|Hello.\n", encoding="utf-8")
    config = tmp_path / "c.yaml"
    config.write_text(f"train_filelist_path: {tmp_path / 'train.csv'}\nsample_rate: 22050\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="22050"):
        Corpus.open(None, config)
