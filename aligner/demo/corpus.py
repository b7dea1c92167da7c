"""Demo corpus with known phone boundaries, synthesised by espeak-ng: the project's ruler.

    python -m aligner.demo.corpus --out DIR [--n N] [--seed S] [--languages en-us,fr-fr,de,es] [--speakers K]

Sentences shipped in ``aligner/demo/sentences/{language}.txt`` (one per line) are spoken by espeak-ng
through its C API (:mod:`aligner.demo.espeak_synth`), which reports the sample at which every phone and
every word starts. The corpus is written in the project's format (see
``aligner.corpus``):

- ``DIR/metadata.csv``: no header, ``rel_path|spk_id|language|text``, rel_path = ``{speaker}/{utterance}``;
- ``DIR/wavs/{rel_path}.wav``: mono, 24 kHz, 16-bit PCM;
- ``DIR/reference/{rel_path}.json``: the truth (schema below);
- ``DIR/demo_corpus.json``: build settings and the phone agreement per language.

Speakers are espeak voice variants with their own rate, pitch and pitch range (:data:`SPEAKERS`; one
fixed setting per speaker id, the same in every language; only variants without echo, so that silence
is exact zeros). Utterance ``i`` (1-based) is spoken by speaker ``(i - 1) % K``; 70 % of the
utterances are English (``en-us``) when English is among the languages, the rest is split evenly.
espeak speaks the text lowercased, as ``aligner.text.to_phonemes`` reads it (so that, e.g., the pronoun
"I" is stressed the same way); ``metadata.csv`` keeps the text as written.

Reference JSON (times in seconds, rounded to the microsecond)::

    {"rel_path": "0/0001", "speaker": 0, "language": "en-us", "text": "Hello world, ...",
     "sample_rate": 24000, "duration": 2.61,
     "phones": [{"label": "", "start": 0.0, "end": 0.011973}, {"label": "h", ...}, ...],
     "words":  [{"label": "Hello", "start": 0.011973, "end": 0.30127}, ...],
     "espeak_ipa": "həlˈoʊwˈɜːld...", "matcha_ipa": "həlˈoʊ wˈɜːld, ...", "phones_agree": true,
     "espeak": {"voice": "en-us", "variant": null, "rate": 165, "pitch": 45, "range": 50,
                "sample_rate": 22050}}

How the truth is built from espeak's events and audio:

- **Phones** cover the whole audio, contiguous and ordered (``end`` of one == ``start`` of the next,
  first ``start`` 0, last ``end`` == ``duration``). A phone starts at the sample of its phoneme event
  and ends where the next one starts. Labels are espeak's IPA phoneme names, stress and length marks
  included (``"ˈoʊ"``, ``"ɜː"``, ``"ts"``, ``"a-"``).
- **Closures and gaps**: espeak generates some silence (runs of exact zeros) *before* the event of the
  phone it belongs to. A run of at least 3 ms (:data:`MIN_GAP_SECONDS`) at the end of a phone is moved
  to where it belongs: before a stop or affricate it is that stop's closure (the stop starts where the
  silence starts, as in usual phonetic segmentation); after a stop followed by a phone of the same
  word it is the stop's release gap (it stays in the stop); anywhere else it is a silence.
- **Silence** has the label ``""`` (:data:`SILENCE`): such gaps (mostly 5–15 ms between words),
  espeak's pause phonemes (empty names, names made only of ``_`` and length marks, and the
  language-switch markers ``(en)``/``(fr)``), and the stretch before the first phone. Adjacent
  silences are merged; a silence of zero length is dropped. A stop right after a silence keeps its
  closure inside the silence (it cannot be told apart). espeak pauses inside a few words (Spanish
  hiatus ``ía``, English plural ``-s``): such silences lie inside a word's span.
- **Zero-length phones** (``start == end``) are kept, so that ``espeak_ipa`` is exactly what espeak
  spoke: espeak sometimes emits two phone events at the same sample (French ``w`` in ``oi``), and an
  English dark ``l`` before a stop (``old``) has no audio of its own (its only samples are the
  closure of the stop). Durations are never negative: event samples are clamped to the audio and
  must not decrease (else the build fails). Consumers that need positive durations merge a
  zero-length phone with a neighbour.
- **Words** span their phones: a word event opens a word and the non-silent phones that follow (up to
  the next word event) belong to it. The label is the text from the token containing the event's
  character position (1-based characters, not bytes) up to the token of the next word event, with
  punctuation around tokens stripped: words espeak speaks as one keep all their tokens (``"on the"``,
  ``"for a"``), and several events inside one token (``L'été``, ``grands-parents``) make one word.
  Joined with spaces, the word labels give the text's tokens in order.
- ``espeak_ipa`` is the concatenation of the non-silent phone labels; ``matcha_ipa`` is
  ``aligner.text.to_phonemes(text, language)``. ``phones_agree`` is true when both are equal after
  removing whitespace and punctuation (Unicode categories Z* and P*, which also drops the ``-`` of
  names like ``"a-"``); stress (``ˈ ˌ``) and length (``ː``) marks are compared like any other symbol.

Audio: espeak's 22050 Hz output is resampled to 24 kHz with soxr; if the resampled peak would exceed
16-bit full scale (resampling can overshoot), the whole utterance is scaled down to just below it
(never clipped, never wrapped around). Event samples are converted to seconds at 22050 Hz.

Determinism: a build starts a fresh espeak instance and synthesises the utterances in a fixed order
(espeak carries some state from one utterance to the next), so ``(n, seed, languages, speakers)``
determine every output file bit for bit. Rebuilding into a corpus directory replaces the corpus; its
``mels/`` and ``durations/`` are kept only if ``metadata.csv`` and every wav came out identical. A
non-empty directory that is not a demo corpus is never overwritten.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import random
import re
import shutil
import sys
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
from tqdm import tqdm

from aligner.audio import TTS_SAMPLE_RATE
from aligner.demo.espeak_synth import EVENT_PHONEME, EVENT_WORD, VOICE_NAMES, EspeakSynth, Event, Synthesis
from aligner.demo.flite_synth import FLITE_VOICES, FliteError, flite_reference, synthesise
from aligner.text import is_phone_symbol, to_phonemes_multilingual

SILENCE = ""
DEFAULT_LANGUAGES = ("en-us", "fr-fr", "de", "es")
DEFAULT_N = 200
DEFAULT_SPEAKERS = 4
ENGLISH = "en-us"
ENGLISH_SHARE = 0.7
MARKER = "demo_corpus.json"
ENGINES = ("espeak", "flite")
DERIVED = ("mels", "durations")
MIN_GAP_SECONDS = 0.003
_PCM_LIMIT = 32767 / 32768
_STOP_INITIALS = frozenset("pbtdkɡgqcɟʔ")


@dataclass(frozen=True)
class Speaker:
    """One espeak voice setting: variant (``None`` = the language's default voice) and prosody."""

    variant: str | None
    rate: int
    pitch: int
    range: int


#: Speaker id -> setting; only variants without echo, so that silence stays exact zeros (see
#: :func:`attach_silent_gaps`). Ids beyond the table reuse a preset with a faster rate.
SPEAKERS: tuple[Speaker, ...] = (
    Speaker(None, 165, 45, 50),
    Speaker("f1", 150, 65, 70),
    Speaker("m3", 190, 38, 35),
    Speaker("f1", 175, 80, 55),
    Speaker("m1", 140, 50, 60),
    Speaker("m4", 200, 56, 45),
    Speaker("m6", 160, 32, 40),
    Speaker("m5", 185, 62, 65),
)


@dataclass(frozen=True)
class Item:
    """One planned utterance."""

    rel_path: str
    speaker: int
    language: str
    text: str


@dataclass(frozen=True)
class Segment:
    """A labelled stretch of audio in samples (at espeak's rate), ``start <= end``.

    ``word_position`` is the 1-based character position of the word event a phone follows (``None``
    for silence and for phones before any word event).
    """

    label: str
    start: int
    end: int
    word_position: int | None = None


def speaker_setting(speaker: int) -> Speaker:
    """The fixed espeak setting of a speaker id."""
    base = SPEAKERS[speaker % len(SPEAKERS)]
    faster = 15 * (speaker // len(SPEAKERS))
    return Speaker(base.variant, min(base.rate + faster, 400), base.pitch, base.range)


def load_sentences(language: str) -> list[str]:
    """The sentences shipped for ``language`` (non-empty lines of ``aligner/demo/sentences/{language}.txt``)."""
    path = resources.files("aligner.demo") / "sentences" / f"{language}.txt"
    if not path.is_file():
        raise ValueError(f"no sentences for language {language!r} (looked for {path})")
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    bad = [line for line in lines if "|" in line]
    if bad:
        raise ValueError(f"{path}: '|' would break metadata.csv: {bad[0]!r}")
    return lines


def language_counts(n: int, languages: Sequence[str]) -> dict[str, int]:
    """How many of ``n`` utterances each language gets (about 70 % English, the rest even)."""
    if ENGLISH in languages and len(languages) > 1:
        other = (1 - ENGLISH_SHARE) / (len(languages) - 1)
        weights = [ENGLISH_SHARE if lang == ENGLISH else other for lang in languages]
    else:
        weights = [1 / len(languages)] * len(languages)
    exact = [w * n for w in weights]
    counts = [int(x + 1e-9) for x in exact]  # 0.1 * 10 must give 1, not 0.999…
    by_remainder = sorted(range(len(languages)), key=lambda i: (counts[i] - exact[i], i))
    for i in by_remainder[: n - sum(counts)]:
        counts[i] += 1
    return dict(zip(languages, counts, strict=True))


def plan_corpus(n: int, seed: int, languages: Sequence[str], speakers: int) -> list[Item]:
    """The utterances of a corpus: deterministic in ``(n, seed, languages, speakers)``."""
    if n < 1 or speakers < 1 or not languages:
        raise ValueError("need n >= 1, speakers >= 1 and at least one language")
    rng = random.Random(seed)
    order = [lang for lang, k in language_counts(n, languages).items() for _ in range(k)]
    rng.shuffle(order)
    pools = {lang: load_sentences(lang) for lang in languages}
    queues: dict[str, list[str]] = {lang: [] for lang in languages}
    width = max(4, len(str(n)))
    items = []
    for i, lang in enumerate(order):
        if not queues[lang]:
            queues[lang] = rng.sample(pools[lang], len(pools[lang]))
        speaker = i % speakers
        items.append(Item(f"{speaker}/{i + 1:0{width}d}", speaker, lang, queues[lang].pop()))
    return items


_LANGUAGE_SWITCH = re.compile(r"^\([a-z-]+\)$")


def is_pause(name: str) -> bool:
    """Whether a phoneme event is silence: empty name, only ``_``/length marks, or a ``(en)`` switch."""
    return not name.strip("_:ː ") or bool(_LANGUAGE_SWITCH.match(name))


def event_segments(events: Sequence[Event], n_samples: int) -> list[Segment]:
    """Segments straight from the phoneme events: each phone lasts until the next event.

    Pauses become :data:`SILENCE`, the stretch before the first event is silence, silences of zero
    length are dropped (not merged yet).
    """
    starts: list[Segment] = []  # ends filled in below
    word: int | None = None
    for ev in events:
        if ev.kind == EVENT_WORD:
            word = ev.text_position
        if ev.kind != EVENT_PHONEME:
            continue
        sample = min(max(ev.sample, 0), n_samples)
        if starts and sample < starts[-1].start:
            raise RuntimeError(
                f"espeak phone events go back in time: {ev.name!r} at {sample} "
                f"after {starts[-1].label!r} at {starts[-1].start}"
            )
        pause = is_pause(ev.name)
        starts.append(Segment(SILENCE if pause else ev.name, sample, sample, None if pause else word))
    if not starts or starts[0].start > 0:
        starts.insert(0, Segment(SILENCE, 0, 0))
    ends = [seg.start for seg in starts[1:]] + [n_samples]
    raw = [Segment(seg.label, seg.start, end, seg.word_position) for seg, end in zip(starts, ends, strict=True)]
    return [seg for seg in raw if seg.label != SILENCE or seg.end > seg.start]


def is_stop(label: str) -> bool:
    """Whether a phone label is a stop or an affricate (starts with a closure)."""
    base = label.lstrip("ˈˌ")
    return bool(base) and base[0] in _STOP_INITIALS


def _silent_tail(samples: np.ndarray, start: int, end: int) -> int:
    """First index of the run of exact zeros that ends at ``end`` (``end`` if there is none)."""
    nonzero = np.flatnonzero(samples[start:end])
    return start + int(nonzero[-1]) + 1 if nonzero.size else start


def attach_silent_gaps(segments: list[Segment], samples: np.ndarray, min_gap: int) -> list[Segment]:
    """Give the silence espeak generates just before a phone event to the phone it belongs to.

    A run of exact zeros (at least ``min_gap`` samples) at the end of a phone is: the closure of the
    next phone if that one is a stop or an affricate (the stop starts there); the release gap of the
    phone itself if it is a stop followed by a phone of the same word (it stays in the stop); else a
    silence of its own.
    """
    out: list[Segment] = []
    closure_start: int | None = None  # handed from one segment to the next
    for i, seg in enumerate(segments):
        if closure_start is not None:
            seg, closure_start = Segment(seg.label, closure_start, seg.end, seg.word_position), None
        nxt = segments[i + 1] if i + 1 < len(segments) else None
        gap_start = _silent_tail(samples, seg.start, seg.end) if seg.label != SILENCE else seg.end
        if seg.end - gap_start < min_gap:
            out.append(seg)
        elif nxt is not None and nxt.label != SILENCE and is_stop(nxt.label):
            out.append(Segment(seg.label, seg.start, gap_start, seg.word_position))
            closure_start = gap_start
        elif nxt is not None and is_stop(seg.label) and _same_word(seg, nxt):
            out.append(seg)
        else:
            out.append(Segment(seg.label, seg.start, gap_start, seg.word_position))
            out.append(Segment(SILENCE, gap_start, seg.end))
    return out


def _same_word(a: Segment, b: Segment) -> bool:
    return a.word_position is not None and a.word_position == b.word_position


def phone_segments(events: Sequence[Event], samples: np.ndarray, rate: int) -> list[Segment]:
    """Contiguous phones covering the audio (see the module docstring), in samples at ``rate``."""
    segments = event_segments(events, len(samples))
    segments = attach_silent_gaps(segments, samples, max(1, round(MIN_GAP_SECONDS * rate)))
    return _merge_silences(segments)


def _merge_silences(segments: list[Segment]) -> list[Segment]:
    out: list[Segment] = []
    for seg in segments:
        if out and seg.label == SILENCE and out[-1].label == SILENCE:
            out[-1] = Segment(SILENCE, out[-1].start, seg.end)
        else:
            out.append(seg)
    return out


def _strip_punctuation(token: str) -> str:
    is_punct = lambda c: unicodedata.category(c)[0] in "PS"  # noqa: E731
    start, end = 0, len(token)
    while start < end and is_punct(token[start]):
        start += 1
    while end > start and is_punct(token[end - 1]):
        end -= 1
    return token[start:end]


def _token_index(tokens: list[re.Match[str]], char_index: int) -> int:
    """Index of the token containing ``char_index``, or of the first token after it."""
    for i, tok in enumerate(tokens):
        if char_index < tok.end():
            return i
    return len(tokens) - 1


def word_segments(phones: Sequence[Segment], text: str) -> list[Segment]:
    """Words spanning the phones that follow their word event, labelled with their text tokens.

    A word event's text runs from its token up to the token of the next word event, so words espeak
    speaks as one (``"on the"``) keep all their tokens; punctuation around tokens is stripped.
    """
    tokens = list(re.finditer(r"\S+", text))
    spans: dict[int, list[int]] = {}
    for seg in phones:
        if seg.word_position is None or not tokens:
            continue
        tok = _token_index(tokens, seg.word_position - 1)
        span = spans.setdefault(tok, [seg.start, seg.end])
        span[1] = seg.end
    firsts = sorted(spans)
    words = []
    for k, first in enumerate(firsts):
        last = firsts[k + 1] if k + 1 < len(firsts) else len(tokens)
        label = " ".join(w for w in (_strip_punctuation(t.group()) for t in tokens[first:last]) if w)
        words.append(Segment(label, *spans[first]))
    return words


def to_pcm16(audio: np.ndarray) -> np.ndarray:
    """Float audio (full scale 1.0) to int16, scaling the whole signal down if it would overshoot."""
    audio = np.asarray(audio, dtype=np.float64)
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak > _PCM_LIMIT:
        audio = audio * (_PCM_LIMIT / peak)
    return np.clip(np.round(audio * 32768.0), -32768, 32767).astype(np.int16)


def resample_pcm(samples: np.ndarray, rate: int, target: int = TTS_SAMPLE_RATE) -> np.ndarray:
    """int16 audio at ``rate`` to int16 audio at ``target`` (soxr, high quality, overshoot-safe)."""
    audio = samples.astype(np.float32) / 32768.0
    if rate != target:
        audio = soxr.resample(audio, rate, target, quality="HQ")
    return to_pcm16(audio)


def normalize_ipa(ipa: str) -> str:
    """IPA without whitespace and punctuation (what the agreement check compares)."""
    return "".join(filter(is_phone_symbol, ipa))


def phones_agree(espeak_ipa: str, matcha_ipa: str) -> bool:
    """Whether espeak's spoken phones equal matcha's IPA, ignoring spaces and punctuation."""
    return normalize_ipa(espeak_ipa) == normalize_ipa(matcha_ipa)


def _timed(segments: list[Segment], rate: int, duration: float, to_end: bool = False) -> list[dict]:
    """Segments in seconds, clamped to ``duration`` (and the last one ending there if ``to_end``)."""
    out = []
    for i, seg in enumerate(segments):
        end = duration if to_end and i == len(segments) - 1 else min(seg.end / rate, duration)
        out.append({"label": seg.label, "start": round(min(seg.start / rate, duration), 6), "end": round(end, 6)})
    return out


def reference_record(item: Item, synthesis: Synthesis, n_out: int, matcha_ipa: str) -> dict:
    """The truth for one utterance (schema in the module docstring)."""
    rate = synthesis.sample_rate
    duration = round(n_out / TTS_SAMPLE_RATE, 6)
    phones = phone_segments(synthesis.events, synthesis.samples, rate)
    words = word_segments(phones, item.text)
    espeak_ipa = "".join(p.label for p in phones)
    setting = speaker_setting(item.speaker)
    return {
        "rel_path": item.rel_path,
        "speaker": item.speaker,
        "language": item.language,
        "text": item.text,
        "sample_rate": TTS_SAMPLE_RATE,
        "duration": duration,
        "phones": _timed(phones, rate, duration, to_end=True),
        "words": _timed(words, rate, duration),
        "espeak_ipa": espeak_ipa,
        "matcha_ipa": matcha_ipa,
        "phones_agree": phones_agree(espeak_ipa, matcha_ipa),
        "espeak": {"voice": VOICE_NAMES.get(item.language, item.language), **asdict(setting), "sample_rate": rate},
    }


def spoken_text(text: str) -> str:
    """The text espeak speaks: lowercased, as ``aligner.text.to_phonemes`` reads it (same characters)."""
    lowered = text.lower()
    return lowered if len(lowered) == len(text) else text


def synthesize(synth: EspeakSynth, item: Item) -> Synthesis:
    """Speak one item with its speaker's voice setting."""
    setting = speaker_setting(item.speaker)
    synth.set_voice(item.language, setting.variant)
    synth.set_prosody(setting.rate, setting.pitch, setting.range)
    result = synth.synth(spoken_text(item.text))
    if not len(result.samples):
        raise RuntimeError(f"espeak produced no audio for {item.rel_path}: {item.text!r}")
    return result


def matcha_phonemes(items: Sequence[Item]) -> dict[str, str]:
    """rel_path -> ``aligner.text.to_phonemes(text, language)``, batched per language."""
    ipas = to_phonemes_multilingual([it.text for it in items], [it.language for it in items])
    return {it.rel_path: ipa for it, ipa in zip(items, ipas, strict=True)}


def _write_item(root: Path, item: Item, pcm: np.ndarray, record: dict) -> None:
    wav = root / "wavs" / f"{item.rel_path}.wav"
    ref = root / "reference" / f"{item.rel_path}.json"
    wav.parent.mkdir(parents=True, exist_ok=True)
    ref.parent.mkdir(parents=True, exist_ok=True)
    sf.write(wav, pcm, TTS_SAMPLE_RATE, subtype="PCM_16", format="WAV")
    ref.write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def agreement_by_language(records: Sequence[dict]) -> dict[str, dict]:
    """Per language (and ``"all"``): utterances, how many have agreeing phones (espeak-ng: its phones are the
    Matcha tokens'; flite: each word said alone gave the sentence's phones), and the rate."""
    table: dict[str, dict] = {}
    for key in sorted({r["language"] for r in records}) + ["all"]:
        rows = [r for r in records if key in ("all", r["language"])]
        agree = sum(r.get("phones_agree", r.get("words_agree")) for r in rows)
        table[key] = {"utterances": len(rows), "agree": agree, "rate": agree / len(rows) if rows else 0.0}
    return table


def flite_item(item: Item) -> tuple[np.ndarray, dict]:
    """One item spoken by flite (voice ``FLITE_VOICES[speaker % 3]``): its 24 kHz audio and its truth."""
    voice = FLITE_VOICES[item.speaker % len(FLITE_VOICES)]
    result = synthesise(item.text, voice)
    pcm = resample_pcm(result.samples, result.sample_rate)
    duration = round(len(pcm) / TTS_SAMPLE_RATE, 6)
    return pcm, flite_reference(item.rel_path, item.speaker, item.text, voice, result, TTS_SAMPLE_RATE, duration)


def write_corpus(root: Path, items: Sequence[Item], progress: bool = True, engine: str = "espeak") -> list[dict]:
    """Synthesise ``items`` into ``root`` (metadata.csv, wavs/, reference/) with ``engine`` (``ENGINES``);
    return the records."""
    ipa = matcha_phonemes(items) if engine == "espeak" else {}
    synth = EspeakSynth() if engine == "espeak" else None  # fresh instance: same state at every build's start
    records = []
    for item in tqdm(items, desc="synthesising", unit="utt", disable=not progress, file=sys.stderr):
        if synth is None:
            pcm, record = flite_item(item)
        else:
            result = synthesize(synth, item)
            pcm = resample_pcm(result.samples, result.sample_rate)
            record = reference_record(item, result, len(pcm), ipa[item.rel_path])
        _write_item(root, item, pcm, record)
        records.append(record)
    lines = [f"{it.rel_path}|{it.speaker}|{it.language}|{it.text}\n" for it in items]
    (root / "metadata.csv").write_text("".join(lines), encoding="utf-8")
    return records


def _same_audio(old: Path, new: Path) -> bool:
    """Whether two corpus directories have identical metadata.csv and wavs."""
    if not (old / "metadata.csv").is_file() or not filecmp.cmp(
        old / "metadata.csv", new / "metadata.csv", shallow=False
    ):
        return False
    rels = lambda d: sorted(p.relative_to(d / "wavs") for p in (d / "wavs").rglob("*.wav"))  # noqa: E731
    names = rels(new)
    return rels(old) == names and all(filecmp.cmp(old / "wavs" / r, new / "wavs" / r, shallow=False) for r in names)


def check_target(out: Path) -> None:
    """Refuse to write into a non-empty directory that is not a demo corpus."""
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).is_file())):
        raise FileExistsError(f"{out} exists and is not a demo corpus (no {MARKER}); refusing to overwrite it")


def _install(staging: Path, out: Path) -> bool:
    """Move a built corpus into ``out``; return whether derived mels/durations were kept."""
    if not out.exists():
        staging.rename(out)
        return False
    keep = _same_audio(out, staging)
    for name in ("metadata.csv", "wavs", "reference", MARKER) + (() if keep else DERIVED):
        target = out / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    for child in staging.iterdir():
        child.rename(out / child.name)
    staging.rmdir()
    return keep


def build_corpus(
    out: Path,
    n: int = DEFAULT_N,
    seed: int = 0,
    languages: Sequence[str] = DEFAULT_LANGUAGES,
    speakers: int = DEFAULT_SPEAKERS,
    progress: bool = True,
    engine: str = "espeak",
) -> dict:
    """Build the demo corpus into ``out`` with ``engine`` (``ENGINES``; flite speaks English only); return
    the summary also written to ``out/demo_corpus.json``."""
    out = Path(out)
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if engine == "flite" and list(languages) != [ENGLISH]:
        raise ValueError(f"flite speaks English only: give --languages {ENGLISH}")
    check_target(out)
    items = plan_corpus(n, seed, list(languages), speakers)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.building"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    try:
        records = write_corpus(staging, items, progress, engine)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    summary = {
        "engine": engine,
        "n": n,
        "seed": seed,
        "languages": list(languages),
        "speakers": speakers,
        "sample_rate": TTS_SAMPLE_RATE,
        "audio_seconds": round(sum(r["duration"] for r in records), 3),
        "agreement": agreement_by_language(records),
        "speaker_settings": {
            str(k): FLITE_VOICES[k % len(FLITE_VOICES)] if engine == "flite" else asdict(speaker_setting(k))
            for k in range(speakers)
        },
    }
    (staging / MARKER).write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    summary["kept_derived"] = _install(staging, out)
    return summary


def _report(out: Path, summary: dict, seconds: float) -> str:
    lines = [
        f"wrote {summary['n']} utterances ({summary['audio_seconds'] / 60:.1f} min of audio, "
        f"{summary['speakers']} speakers) in {seconds:.1f} s to {out}/: metadata.csv, wavs/, "
        f"reference/, {MARKER}"
    ]
    if summary["kept_derived"]:
        lines.append("audio unchanged: kept the existing mels/ and durations/")
    lines.append(
        "words whose phones said alone are the sentence's (the rest placed by matching):"
        if summary["engine"] == "flite"
        else "phones agreeing with aligner.text.to_phonemes (ignoring spaces and punctuation):"
    )
    for lang, row in summary["agreement"].items():
        lines.append(f"  {lang:<6} {row['agree']:>5}/{row['utterances']:<5} {100 * row['rate']:6.1f} %")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line arguments."""
    p = argparse.ArgumentParser(
        prog="python -m aligner.demo.corpus",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", type=Path, required=True, help="corpus directory to write")
    p.add_argument("--n", type=int, default=DEFAULT_N, help=f"number of utterances (default {DEFAULT_N})")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--languages",
        default=",".join(DEFAULT_LANGUAGES),
        help="comma-separated espeak language codes (default %(default)s)",
    )
    p.add_argument(
        "--speakers", type=int, default=DEFAULT_SPEAKERS, help=f"number of speakers (default {DEFAULT_SPEAKERS})"
    )
    p.add_argument(
        "--engine", choices=ENGINES, default="espeak",
        help="espeak (default): espeak-ng, its phones the Matcha tokens'; flite: Debian's flite, voices awb, rms and "
        "slt by speaker, English only (--languages en-us), its truth in CMU phones and words: scored at words",
    )  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Command-line entry point."""
    args = parse_args(argv)
    languages = list(dict.fromkeys(code.strip() for code in args.languages.split(",") if code.strip()))
    t0 = time.perf_counter()
    try:
        summary = build_corpus(
            args.out, args.n, args.seed, languages, args.speakers, progress=not args.quiet, engine=args.engine
        )
    except (FileExistsError, ValueError, FliteError) as err:
        sys.exit(f"error: {err}")
    print(_report(args.out, summary, time.perf_counter() - t0))


if __name__ == "__main__":
    main()
