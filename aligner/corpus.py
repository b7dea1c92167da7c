"""The corpus: where its texts, audio, mels and durations are (the one description every tool follows).

A corpus is a folder laid out as a Matcha-TTS fork's ``precompute_corpus`` describes it, or as upstream's
metadata file; both read the same way::

    CORPUS/*.csv                     the filelists: every CSV file in the folder (train.csv, validate.csv,
                                     metadata.csv, ...), no header, UTF-8, one utterance per line:
                                     rel_path|spk_id|language|text      e.g.  0/0001|0|en-us|Hello world.
    CORPUS/wav/{rel_path}.wav        mono audio, every wav at the corpus's rate (any, 8-48 kHz: the data YAML's
                                     sample_rate, else the rate most of its wavs have); or wavs/
    CORPUS/mels/{rel_path}.npy       the mels Matcha trains on (or mel/): read, never written by the aligner;
                                     any band count and normalisation; T = floor(samples / hop) (upstream's
                                     center=False mels) or samples // hop + 1 (center=True, e.g. vocos mels).
                                     No mel folder at all: the Matcha computes its mels in its loader, as
                                     upstream's does, and T = floor(samples / hop)
    CORPUS/durations/{rel_path}.pt   the durations the aligner writes (or .npy, where a fork's loader reads)
    CORPUS/reference/{rel_path}.json true phone boundaries, where known (the demo corpus): for evaluation only

Fields: ``rel_path`` is a relative path without extension (``speaker/utterance`` by convention), unique in
the corpus: a rel_path in two files stops every tool, naming both; ``spk_id`` a non-negative integer;
``language`` an espeak-ng language code (en-us, en-gb, fr-fr, de, es, ...); ``text`` the raw text, which may
itself contain ``|``.

A Matcha data YAML (``--data-config configs/data/X.yaml``) names the filelists (``train_filelist_path``,
``valid_filelist_path``: any file name), the mel folder (``mel_dir``), ``sample_rate``, ``hop_length``,
``n_fft``, ``win_length``, ``n_feats``, ``f_min``, ``f_max``, ``add_blank``, ``n_spks`` and ``cleaners``
instead, with the YAMLs its hydra ``defaults:`` list names beside it (upstream's vctk.yaml builds on
ljspeech.yaml); its relative paths are read from the current folder, as Matcha reads them from its root.

**Upstream Matcha-TTS's filelists** are read as its loader reads them (every ``|`` splits; extra fields are
ignored): ``wav_path|text`` (``n_spks: 1``) or ``wav_path|spk_id|text`` (``n_spks`` > 1; without a YAML, a line
whose second of three or more fields is an integer), with wav paths relative to the Matcha root (the current
folder) or absolute, e.g. ``data/LJSpeech-1.1/wavs/LJ001-0001.wav|Printing, in the only sense...``. A filelist
is read so when its first line's first field names an audio file (``.wav``, ``.flac``, ...). Such an
utterance's rel_path is its wav path without the extension (a leading ``/`` dropped); its language comes from
the YAML's cleaners (``english_cleaners2``: en-us) or ``language``.
"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import soundfile as sf
import yaml

HOP_LENGTH = 256  # upstream Matcha's, where the data YAML names none
WAV_FOLDERS = ("wav", "wavs")
MEL_FOLDERS = ("mels", "mel")
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif")
# upstream Matcha's cleaners that read English (espeak-ng en-us); other cleaners need --language
CLEANER_LANGUAGES = {"english_cleaners2": "en-us", "english_cleaners": "en-us", "english_cleaners_piper": "en-us"}
MEL_SETTINGS = {"n_fft": 1024, "win_length": 1024, "n_feats": 80, "f_min": 0.0, "f_max": 8000.0}  # upstream's


class CorpusError(ValueError):
    """A corpus that no tool can read as a whole (no filelist, a rel_path in two files, a bad data YAML)."""


class MetadataError(ValueError):
    """A filelist line that does not follow the corpus format.

    ``line``: its line number (None for the file as a whole); ``rel_path``: the line's rel_path when
    it is usable (valid and not a repeat), else None; ``filelist``: the name of its file (set by ``Corpus.read``).
    """

    cause = "malformed filelist line"

    def __init__(self, message: str, line: int | None = None, rel_path: str | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.rel_path = rel_path
        self.filelist = "metadata.csv"


@dataclass(frozen=True)
class Utterance:
    """One filelist line; ``wav``: its audio file."""

    rel_path: str
    spk_id: int
    language: str
    text: str
    wav: Path


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


def to_utterance(fields: list[str], wav: Path, where: str, number: int) -> Utterance:
    """Check the speaker id, language and text of split fields; errors name the line and its rel_path."""
    rel_path, spk_id, language, text = fields
    if not spk_id.isdigit():
        raise MetadataError(f"{where}: speaker id {spk_id!r} is not a non-negative integer", number, rel_path)
    if not language:
        raise MetadataError(f"{where}: empty language code", number, rel_path)
    if not text:
        raise MetadataError(f"{where}: empty text", number, rel_path)
    return Utterance(rel_path, int(spk_id), language, text, wav)


def names_audio(line: str) -> bool:
    """Whether a filelist line starts with an audio file's path (upstream Matcha's filelists), not a rel_path."""
    return Path(line.split("|", 1)[0].strip()).suffix.lower() in AUDIO_SUFFIXES


def split_upstream_line(line: str, n_spks: int | None, where: str, number: int) -> list[str]:
    """``[rel_path, spk_id, text, wav]`` of an upstream filelist line, split as upstream's ``parse_filelist``
    and ``get_datapoint`` split it: ``wav|spk|text`` when ``n_spks`` > 1 (or, with ``n_spks`` None, when the
    second of three or more fields is an integer), else ``wav|text`` (spk_id 0)."""
    fields = line.strip().split("|")
    if len(fields) < 2:
        raise MetadataError(f"{where}: expected 'wav_path|text' or 'wav_path|spk_id|text', got 1 field", number)
    with_speaker = n_spks > 1 if n_spks is not None else len(fields) >= 3 and fields[1].strip().isdigit()
    if with_speaker and len(fields) < 3:
        raise MetadataError(f"{where}: expected 'wav_path|spk_id|text' (n_spks > 1), got {len(fields)} fields", number)
    wav = fields[0].strip()
    rel_path = Path(wav).with_suffix("").as_posix().lstrip("/")
    if not rel_path or ".." in Path(rel_path).parts:
        raise MetadataError(f"{where}: wav path {wav!r} must not climb out with '..'", number)
    spk_id, text = (fields[1].strip(), fields[2]) if with_speaker else ("0", fields[1])
    return [rel_path, spk_id, text.strip(), wav]


def first_folder(root: Path, names: tuple[str, ...]) -> Path:
    """``root/name`` for the first of ``names`` that exists (the first name when none does)."""
    return next((root / name for name in names if (root / name).is_dir()), root / names[0])


@dataclass(frozen=True)
class Corpus:
    """Where a corpus keeps its files, and the mel grid its Matcha trains on (module doc).

    ``configured_rate``: the data YAML's sample_rate (None: the wavs decide, ``sample_rate``); ``mel_dir``:
    None when the corpus has no mel files (the Matcha computes them, T = floor(samples / hop));
    ``mel_settings``: n_fft, win_length, n_feats, f_min, f_max of the Matcha's mel (``aligner.mels``);
    ``n_spks``, ``language``: how upstream filelists are read (module doc)."""

    root: Path
    filelists: tuple[Path, ...]
    wav_dir: Path
    mel_dir: Path | None
    configured_rate: int | None = None
    hop_length: int = HOP_LENGTH
    add_blank: bool = True
    mel_settings: dict = field(default_factory=lambda: dict(MEL_SETTINGS))
    n_spks: int | None = None
    language: str | None = None
    data_config: Path | None = None

    @classmethod
    def open(
        cls, root: str | Path | None, data_config: str | Path | None = None, language: str | None = None
    ) -> Corpus:
        """The corpus in folder ``root``, or the one a Matcha data YAML describes (then ``root`` defaults
        to its train filelist's folder); ``language``: the language of upstream filelists' texts (default: the
        YAML's cleaners say it). ``CorpusError`` when there is no filelist or the YAML is unusable."""
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
        if "mel_dir" in settings:
            mel_dir: Path | None = Path(settings["mel_dir"])
        else:
            mel_dir = next((root / name for name in MEL_FOLDERS if (root / name).is_dir()), None)
        if language is None and any(upstream_filelist(path) for path in filelists):
            language = cleaners_language(settings.get("cleaners"), data_config)
        rate = settings.get("sample_rate")
        return cls(
            root,
            filelists,
            first_folder(root, WAV_FOLDERS),
            mel_dir,
            int(rate) if rate is not None else None,
            int(settings.get("hop_length", HOP_LENGTH)),
            bool(settings.get("add_blank", True)),
            {key: settings.get(key, default) for key, default in MEL_SETTINGS.items()},
            int(settings["n_spks"]) if "n_spks" in settings else None,
            language,
            Path(data_config) if data_config else None,
        )

    @cached_property
    def wav_headers(self) -> list[tuple[int, int]]:
        """(sample rate, samples) of each readable wav of the corpus, from its header (unreadable ones skipped)."""
        headers = []
        for utterance in self.read(problems=[]):
            try:
                info = sf.info(str(utterance.wav))
            except (sf.LibsndfileError, RuntimeError, OSError):
                continue
            headers.append((info.samplerate, info.frames))
        return headers

    @property
    def wav_rates(self) -> Counter:
        """How many of the corpus's wavs have each sample rate (``wav_headers``)."""
        return Counter(rate for rate, _ in self.wav_headers)

    @property
    def audio_hours(self) -> float:
        """Hours of audio in the corpus's readable wavs (``wav_headers``)."""
        return sum(samples / rate for rate, samples in self.wav_headers) / 3600

    @cached_property
    def sample_rate(self) -> int:
        """The rate every wav must have: the data YAML's sample_rate, else the rate most of the wavs have.
        ``CorpusError`` when neither is known (no readable wav)."""
        if self.configured_rate is not None:
            return self.configured_rate
        if not self.wav_rates:
            raise CorpusError(f"{self.root}: no readable wav to take the corpus's sample rate from")
        return self.wav_rates.most_common(1)[0][0]

    def rate_source(self) -> str:
        """Where ``sample_rate`` comes from, for messages."""
        if self.configured_rate is not None:
            return f"the sample_rate of {self.data_config}"
        count, total = self.wav_rates[self.sample_rate], sum(self.wav_rates.values())
        return f"the rate of {count} of its {total} wavs"

    def check_rates(self) -> None:
        """``CorpusError`` when the data YAML's sample_rate is not the rate most of the wavs have (the YAML is
        not of this audio: no file should be written from it), naming both rates and one wav."""
        if self.configured_rate is None or not self.wav_rates:
            return
        rate, count = self.wav_rates.most_common(1)[0]
        if rate != self.configured_rate:
            example = next(
                u.wav for u in self.read(problems=[]) if u.wav.is_file() and sf.info(str(u.wav)).samplerate == rate
            )
            raise CorpusError(
                f"{self.data_config}: sample_rate {self.configured_rate} Hz, but {count} of the corpus's "
                f"{sum(self.wav_rates.values())} wavs are at {rate} Hz (e.g. {example}): the YAML is not of this "
                f"audio; set its sample_rate to {rate}, or resample the wavs to {self.configured_rate} Hz"
            )

    @cached_property
    def upstream_layout(self) -> bool:
        """Whether the filelists are upstream Matcha's (``wav_path|text``): its durations then go where its
        loader reads them (``<wav's grandparent>/durations/<wav stem>.npy``) by default."""
        return any(upstream_filelist(path) for path in self.filelists)

    @property
    def frame_seconds(self) -> float:
        """One mel frame in seconds: hop_length / sample_rate."""
        return self.hop_length / self.sample_rate

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

    def _read_line(self, raw: bytes, path: Path, number: int, seen: dict[str, tuple[Path, int]]) -> Utterance | None:
        where = f"{path}:{number}"
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise MetadataError(f"{where}: not valid UTF-8 ({error.reason} at byte {error.start})", number) from error
        if not line.strip():
            return None
        if names_audio(line):
            rel_path, spk_id, text, wav = split_upstream_line(line, self.n_spks, where, number)
            if self.language is None:
                raise CorpusError(f"{path}: an upstream filelist (wav_path|text) needs --language or a data YAML")
            fields, wav_file = [rel_path, spk_id, self.language, text], Path(wav)
        else:
            fields = split_line(line, where, number)
            wav_file = self.wav_dir / f"{fields[0]}.wav"
        if fields[0] in seen:
            other, other_number = seen[fields[0]]
            if other != path:
                raise CorpusError(
                    f"rel_path {fields[0]!r} is in two filelists: {other}:{other_number} and {where}; "
                    "an utterance may be listed once"
                )
            raise MetadataError(f"{where}: rel_path {fields[0]!r} repeats line {other_number}", number)
        seen[fields[0]] = (path, number)
        return to_utterance(fields, wav_file, where, number)

    def mel(self, rel_path: str) -> Path | None:
        """``mels/{rel_path}.npy`` (or ``mel/``, or the data YAML's ``mel_dir``); None without mel files."""
        return self.mel_dir / f"{rel_path}.npy" if self.mel_dir is not None else None

    def reference(self, rel_path: str) -> Path:
        """``reference/{rel_path}.json`` (true phone boundaries, where known)."""
        return self.root / "reference" / f"{rel_path}.json"

    @cached_property
    def durations_dir(self) -> Path:
        """``CORPUS/durations``: where the aligner writes, beside the filelists (where a fork's loader reads);
        for upstream's filelists whose wavs share one grandparent, ``<that folder>/durations``, where upstream's
        ``get_durations`` reads (data/LJSpeech-1.1/durations/)."""
        if self.upstream_layout:
            homes = {utterance.wav.parent.parent for utterance in self.read(problems=[])}
            if len(homes) == 1:
                return homes.pop() / "durations"
        return self.root / "durations"


CONFIG_KEYS = ("mel_dir", "sample_rate", "hop_length", "add_blank", "n_spks", "cleaners", *MEL_SETTINGS)


def load_yaml_with_defaults(path: Path, depth: int = 0) -> dict:
    """A data YAML merged over the YAMLs its hydra ``defaults:`` list names beside it (``_self_`` last unless
    placed), as hydra composes upstream's vctk.yaml over ljspeech.yaml. ``CorpusError`` when unreadable."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise CorpusError(f"{path}: cannot read the data config ({error})") from error
    if not isinstance(data, dict):
        raise CorpusError(f"{path}: not a Matcha data config (a YAML mapping)")
    defaults = data.pop("defaults", None) or []
    if "_self_" not in defaults:
        defaults = [*defaults, "_self_"]
    merged: dict = {}
    for entry in defaults:
        if entry == "_self_":
            merged.update(data)
        elif isinstance(entry, str) and depth < 8:
            merged.update(load_yaml_with_defaults(path.parent / f"{entry.removesuffix('.yaml')}.yaml", depth + 1))
    return merged


def read_data_config(path: str | Path) -> dict:
    """The settings of a Matcha data YAML the aligner uses: ``filelists`` (train, then valid) and
    ``CONFIG_KEYS`` (those present, its ``defaults:`` merged in). ``CorpusError`` when unreadable."""
    data = load_yaml_with_defaults(Path(path))
    settings: dict = {k: data[k] for k in CONFIG_KEYS if k in data}
    filelists = [data[k] for k in ("train_filelist_path", "valid_filelist_path") if data.get(k)]
    if filelists:
        settings["filelists"] = filelists
    return settings


def upstream_filelist(path: Path) -> bool:
    """Whether the filelist ``path`` is in upstream Matcha's format (its first line names an audio file)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            first = next((line for line in handle if line.strip()), "")
    except OSError:
        return False
    return names_audio(first)


def cleaners_language(cleaners: object, data_config: str | Path | None) -> str:
    """The espeak-ng language upstream Matcha's ``cleaners`` read texts in; ``CorpusError`` when they do not
    say (give --language)."""
    names = [cleaners] if isinstance(cleaners, str) else list(cleaners or [])
    for name in names:
        if name in CLEANER_LANGUAGES:
            return CLEANER_LANGUAGES[name]
    raise CorpusError(
        f"{data_config or 'the filelists'}: upstream-style filelists (wav_path|text) and cleaners {names} that do "
        "not say the texts' language; give --language (an espeak-ng code such as en-us)"
    )


def open_corpus(corpus: Corpus | str | Path) -> Corpus:
    """``corpus`` itself, or the corpus in that folder."""
    return corpus if isinstance(corpus, Corpus) else Corpus.open(corpus)


def read_metadata(corpus: Corpus | str | Path, problems: list[MetadataError] | None = None) -> list[Utterance]:
    """Every utterance of ``corpus`` (``Corpus.read``)."""
    return open_corpus(corpus).read(problems)


def mel_path(corpus: Corpus | str | Path, rel_path: str) -> Path | None:
    """The mel of ``rel_path`` in ``corpus`` (None without mel files)."""
    return open_corpus(corpus).mel(rel_path)


def reference_path(corpus: Corpus | str | Path, rel_path: str) -> Path:
    """The true phone boundaries of ``rel_path`` in ``corpus``, where known."""
    return open_corpus(corpus).reference(rel_path)


def select(n: int, limit: int) -> list[int]:
    """Indices of ``limit`` of ``n`` items, evenly spread (all of them when ``limit`` is 0 or ``n`` or more)."""
    if not limit or limit >= n:
        return list(range(n))
    return [i * n // limit for i in range(limit)]


DATA_CONFIG_HELP = "a Matcha data YAML (configs/data/X.yaml) naming the filelists, rate and mel settings instead"
LANGUAGE_HELP = "the language of upstream-style filelists (default: the YAML's cleaners)"


def add_corpus_options(
    parser: argparse.ArgumentParser,
    corpus_help: str,
    data_config_help: str = DATA_CONFIG_HELP,
    language_help: str = LANGUAGE_HELP,
) -> None:
    """The options of every command that reads a corpus: ``--corpus`` (``corpus_help`` says what the folder
    holds), ``--data-config`` and ``--language`` (``Corpus.open``'s three arguments)."""
    parser.add_argument("--corpus", type=Path, help=corpus_help)
    parser.add_argument("--data-config", type=Path, help=data_config_help)
    parser.add_argument("--language", help=language_help)


def require_corpus(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Exit with the parser's usage error unless ``args`` name a corpus (``--corpus`` or ``--data-config``)."""
    if args.corpus is None and args.data_config is None:
        parser.error("give --corpus CORPUS or --data-config configs/data/X.yaml")


def corpus_from_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Corpus:
    """The corpus ``add_corpus_options``'s options name (``require_corpus``, then ``Corpus.open``: a
    ``CorpusError`` for one that cannot be read)."""
    require_corpus(parser, args)
    return Corpus.open(args.corpus, args.data_config, args.language)
