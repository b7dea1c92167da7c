"""The corpus: where its texts, audio, mels and durations are (the one description every tool follows).

A corpus is a folder laid out as a Matcha-TTS fork's ``precompute_corpus`` describes it, or as upstream's
metadata file; both read the same way::

    CORPUS/*.csv                     the filelists: every CSV file in the folder (train.csv, validate.csv,
                                     metadata.csv, ...), no header, UTF-8, one utterance per line:
                                     rel_path|spk_id|language|text      e.g.  0/0001|0|en-us|Hello world.
    CORPUS/wav/{rel_path}.wav        mono audio at 24 kHz (the folder may also be called wavs/)
    CORPUS/mels/{rel_path}.npy       the mels Matcha trains on (or mel/): read, never written by the aligner;
                                     any band count and normalisation; T = floor(samples / hop) (upstream's
                                     center=False mels) or samples // hop + 1 (center=True, e.g. vocos mels)
    CORPUS/durations/{rel_path}.pt   the durations the aligner writes (or .npy, where a fork's loader reads)
    CORPUS/reference/{rel_path}.json true phone boundaries, where known (the demo corpus): for evaluation only

Fields: ``rel_path`` is a relative path without extension (``speaker/utterance`` by convention), unique in
the corpus: a rel_path in two files stops every tool, naming both; ``spk_id`` a non-negative integer;
``language`` an espeak-ng language code (en-us, en-gb, fr-fr, de, es, ...); ``text`` the raw text, which may
itself contain ``|``.

A Matcha data YAML (``--data-config configs/data/X.yaml``) names the filelists (``train_filelist_path``,
``valid_filelist_path``), the mel folder (``mel_dir``), ``sample_rate``, ``hop_length`` and ``add_blank``
instead; its relative paths are read from the current folder, as Matcha reads them from its root.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

SAMPLE_RATE = 24000
HOP_LENGTH = 256
WAV_FOLDERS = ("wav", "wavs")
MEL_FOLDERS = ("mels", "mel")


class CorpusError(ValueError):
    """A corpus that no tool can read as a whole (no filelist, a rel_path in two files, a bad data YAML)."""


class MetadataError(ValueError):
    """A filelist line that does not follow the corpus format.

    ``line``: its line number (None for the file as a whole); ``rel_path``: the line's rel_path when
    it is usable (valid and not a repeat), else None; ``filelist``: the name of its file (set by ``Corpus.read``).
    """

    def __init__(self, message: str, line: int | None = None, rel_path: str | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.rel_path = rel_path
        self.filelist = "metadata.csv"


@dataclass(frozen=True)
class Utterance:
    """One filelist line."""

    rel_path: str
    spk_id: int
    language: str
    text: str


def split_line(line: str, where: str, number: int) -> list[str]:
    """The four stripped fields of ``rel_path|spk_id|language|text``, with a valid rel_path;
    ``where`` names the file and line (number ``number``) in errors."""
    fields = [field.strip() for field in line.rstrip("\r\n").split("|", 3)]
    if len(fields) != 4:
        raise MetadataError(f"{where}: expected 4 fields 'rel_path|spk_id|language|text', got {len(fields)}", number)
    rel_path = fields[0]
    if not rel_path or Path(rel_path).is_absolute() or ".." in Path(rel_path).parts:
        raise MetadataError(f"{where}: rel_path {rel_path!r} must be a relative path inside the corpus", number)
    return fields


def to_utterance(fields: list[str], where: str, number: int) -> Utterance:
    """Check the speaker id, language and text of split fields; errors name the line and its rel_path."""
    rel_path, spk_id, language, text = fields
    if not spk_id.isdigit():
        raise MetadataError(f"{where}: speaker id {spk_id!r} is not a non-negative integer", number, rel_path)
    if not language:
        raise MetadataError(f"{where}: empty language code", number, rel_path)
    if not text:
        raise MetadataError(f"{where}: empty text", number, rel_path)
    return Utterance(rel_path, int(spk_id), language, text)


def first_folder(root: Path, names: tuple[str, ...]) -> Path:
    """``root/name`` for the first of ``names`` that exists (the first name when none does)."""
    return next((root / name for name in names if (root / name).is_dir()), root / names[0])


@dataclass(frozen=True)
class Corpus:
    """Where a corpus keeps its files, and the mel grid its Matcha trains on (module doc)."""

    root: Path
    filelists: tuple[Path, ...]
    wav_dir: Path
    mel_dir: Path
    sample_rate: int = SAMPLE_RATE
    hop_length: int = HOP_LENGTH
    add_blank: bool = True

    @classmethod
    def open(cls, root: str | Path | None, data_config: str | Path | None = None) -> Corpus:
        """The corpus in folder ``root``, or the one a Matcha data YAML describes (then ``root`` defaults
        to its train filelist's folder). ``CorpusError`` when there is no filelist or the YAML is unusable."""
        settings = read_data_config(data_config) if data_config else {}
        filelists = tuple(Path(p) for p in settings.get("filelists", ()))
        if root is None:
            if not filelists:
                raise CorpusError("give --corpus, or a --data-config that names its filelists")
            root = filelists[0].parent
        root = Path(root)
        if not filelists:
            filelists = tuple(sorted(root.glob("*.csv")))
        if not filelists:
            raise CorpusError(
                f"{root}: no filelist (*.csv with lines rel_path|spk_id|language|text); see --help for the layout"
            )
        for path in filelists:
            if not path.is_file():
                raise CorpusError(f"{path}: filelist not found")
        mel_dir = Path(settings["mel_dir"]) if "mel_dir" in settings else first_folder(root, MEL_FOLDERS)
        corpus = cls(
            root,
            filelists,
            first_folder(root, WAV_FOLDERS),
            mel_dir,
            int(settings.get("sample_rate", SAMPLE_RATE)),
            int(settings.get("hop_length", HOP_LENGTH)),
            bool(settings.get("add_blank", True)),
        )
        if corpus.sample_rate != SAMPLE_RATE:
            raise CorpusError(f"{data_config}: sample_rate {corpus.sample_rate}; the aligner works on 24 kHz corpora")
        return corpus

    def read(self, problems: list[MetadataError] | None = None) -> list[Utterance]:
        """Every utterance of every filelist, in file order. A malformed line or a rel_path repeated
        within a file raises ``MetadataError``; when ``problems`` is a list the error is appended to it
        instead and the line left out. A rel_path in two files raises ``CorpusError``, naming both."""
        utterances: list[Utterance] = []
        seen: dict[str, tuple[Path, int]] = {}
        for path in self.filelists:
            for number, raw in enumerate(path.read_bytes().splitlines(), start=1):
                try:
                    utterance = self._read_line(raw, path, number, seen)
                except MetadataError as error:
                    error.filelist = path.name
                    if problems is None:
                        raise
                    problems.append(error)
                    continue
                if utterance is not None:
                    utterances.append(utterance)
        return utterances

    @staticmethod
    def _read_line(raw: bytes, path: Path, number: int, seen: dict[str, tuple[Path, int]]) -> Utterance | None:
        where = f"{path}:{number}"
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise MetadataError(f"{where}: not valid UTF-8 ({error.reason} at byte {error.start})", number) from error
        if not line.strip():
            return None
        fields = split_line(line, where, number)
        if fields[0] in seen:
            other, other_number = seen[fields[0]]
            if other != path:
                raise CorpusError(
                    f"rel_path {fields[0]!r} is in two filelists: {other}:{other_number} and {where}; "
                    "an utterance may be listed once"
                )
            raise MetadataError(f"{where}: rel_path {fields[0]!r} repeats line {other_number}", number)
        seen[fields[0]] = (path, number)
        return to_utterance(fields, where, number)

    def wav(self, rel_path: str) -> Path:
        """``wav/{rel_path}.wav`` (or ``wavs/``)."""
        return self.wav_dir / f"{rel_path}.wav"

    def mel(self, rel_path: str) -> Path:
        """``mels/{rel_path}.npy`` (or ``mel/``, or the data YAML's ``mel_dir``)."""
        return self.mel_dir / f"{rel_path}.npy"

    def reference(self, rel_path: str) -> Path:
        """``reference/{rel_path}.json`` (true phone boundaries, where known)."""
        return self.root / "reference" / f"{rel_path}.json"

    @property
    def durations_dir(self) -> Path:
        """``CORPUS/durations``: where the aligner writes, beside the filelists (where a fork's loader reads)."""
        return self.root / "durations"


def read_data_config(path: str | Path) -> dict:
    """The settings of a Matcha data YAML the aligner uses: ``filelists`` (train, then valid), ``mel_dir``,
    ``sample_rate``, ``hop_length``, ``add_blank`` (those present). ``CorpusError`` when unreadable."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise CorpusError(f"{path}: cannot read the data config ({error})") from error
    if not isinstance(data, dict):
        raise CorpusError(f"{path}: not a Matcha data config (a YAML mapping)")
    settings: dict = {k: data[k] for k in ("mel_dir", "sample_rate", "hop_length", "add_blank") if k in data}
    filelists = [data[k] for k in ("train_filelist_path", "valid_filelist_path") if data.get(k)]
    if filelists:
        settings["filelists"] = filelists
    return settings


def open_corpus(corpus: Corpus | str | Path) -> Corpus:
    """``corpus`` itself, or the corpus in that folder."""
    return corpus if isinstance(corpus, Corpus) else Corpus.open(corpus)


def read_metadata(corpus: Corpus | str | Path, problems: list[MetadataError] | None = None) -> list[Utterance]:
    """Every utterance of ``corpus`` (``Corpus.read``)."""
    return open_corpus(corpus).read(problems)


def wav_path(corpus: Corpus | str | Path, rel_path: str) -> Path:
    """The wav of ``rel_path`` in ``corpus``."""
    return open_corpus(corpus).wav(rel_path)


def mel_path(corpus: Corpus | str | Path, rel_path: str) -> Path:
    """The mel of ``rel_path`` in ``corpus``."""
    return open_corpus(corpus).mel(rel_path)


def reference_path(corpus: Corpus | str | Path, rel_path: str) -> Path:
    """The true phone boundaries of ``rel_path`` in ``corpus``, where known."""
    return open_corpus(corpus).reference(rel_path)
