"""One utterance's view on the review page: what its page file holds, read from the corpus and the durations.

The view of an utterance (``utterance_view``) holds its token string and the kind of every token, its audio's
length and waveform peaks, its mel grid, one tier per duration folder (the duration vector and the words
``aligner.extract.textgrid.tiers`` derives from it, or the reason there is none) and, where the corpus has
``reference/{rel_path}.json``, the true phones. Times on the page are seconds of the wav: token k holds mel
frames [c(k-1), c(k)) of the running sum c, frame f starting at f * hop / sample_rate on upstream's grid
(floor(samples / hop) frames) and half a frame earlier on a centred one (samples // hop + 1 frames), as
``aligner.extract.textgrid.write_textgrid`` places them.

Nothing here raises for one utterance's files: a file that is missing or cannot be used becomes a note in
the view and, for the first duration folder, the row's status (``invalid``, with its cause).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aligner.audio import AudioError, load_wav
from aligner.corpus import Corpus, Utterance
from aligner.durations import DurationError, read_duration_file, validate_durations
from aligner.extract.textgrid import tiers
from aligner.mels import matcha_mel
from aligner.review.rows import Folder, Row
from aligner.review.spectrogram import PEAKS_PER_SECOND, spectrogram_png, waveform_peaks
from aligner.search.marks import MARKS_AFTER, MARKS_BEFORE
from aligner.text import is_phone_symbol
from aligner.tokens import TokenError, Tokens

UNREADABLE_WAV = "unreadable wav"
UNREADABLE_MEL = "unreadable mel"
UNREADABLE_DURATIONS = "unreadable duration file"
UNFIT_DURATIONS = "durations do not fit the tokens or the mel"
NO_TOKENS = "no tokens for the text"


@dataclass
class View:
    """An utterance's view: ``data`` (JSON-ready; ``data["wav"]`` is the wav's Path, made a page-relative
    address by the writer) and its spectrogram PNG (None where there is no mel)."""

    data: dict
    png: bytes | None


def token_kinds(ipa: str) -> str:
    """One letter per token of ``ipa``: ``p`` phone, ``m`` stress/length mark or tie, ``s`` space,
    ``u`` punctuation (blanks, the interspersed tokens, are not in ``ipa``)."""
    marks = MARKS_BEFORE + MARKS_AFTER
    return "".join(("m" if c in marks else "p") if is_phone_symbol(c) else ("s" if c.isspace() else "u") for c in ipa)


def longest_token(ipa: str, durations: np.ndarray) -> tuple[str, int]:
    """The token holding the most frames of an add_blank duration vector [2 L + 1]: (its symbol, ``blank``
    or ``space``; its frames)."""
    k = int(np.argmax(durations))
    symbol = "blank" if k % 2 == 0 else ipa[k // 2]
    return ("space" if symbol.isspace() else symbol), int(durations[k])


def read_truth(path: Path) -> list[list] | None:
    """The true phones of ``reference/{rel_path}.json`` as [start s, end s, label] (label "" for silence);
    None when there is no such file or it holds no ``phones`` list."""
    if not path.is_file():
        return None
    try:
        phones = json.loads(path.read_text(encoding="utf-8")).get("phones")
        return [[float(p["start"]), float(p["end"]), str(p["label"])] for p in phones]
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def durations_tier(
    folder: Folder, utterance: Utterance, ipa: str | None, n_frames: int | None, hop_seconds: float
) -> dict:
    """The tier of one duration folder: ``durations`` and ``words`` ([start s, end s, IPA label], blanks split
    between neighbours, not yet shifted for a centred grid), or ``error`` and ``cause`` saying why not; and
    where its run checked the transcript, ``suspect`` ([start s, end s, the suspect word, transcript score],
    times in the audio's own seconds)."""
    tier: dict = {"name": folder.name}
    summary = folder.summary.get(utterance.rel_path)
    if summary and summary.get("mean_log_prob"):
        tier["confidence"] = float(summary["mean_log_prob"])
    if summary and summary.get("suspect_start"):
        start, end = float(summary["suspect_start"]), float(summary["suspect_end"])
        tier["suspect"] = [start, end, summary["suspect_word"], float(summary["transcript_score"])]
    path = folder.durations(utterance)
    if not path.is_file():
        said = f": {summary['message']}" if summary and summary["status"] != "ok" else ""
        return tier | {"error": f"no duration file {path}{said}", "cause": "missing"}
    try:
        durations = read_duration_file(path).numpy()
    except Exception as error:  # noqa: BLE001 - any unreadable file is one row's cause, never a broken page
        return tier | {"error": f"cannot read {path} ({error})", "cause": UNREADABLE_DURATIONS}
    if ipa is None:
        return tier | {"error": "no tokens to place the durations on", "cause": NO_TOKENS}
    try:
        frames = n_frames if n_frames is not None else int(durations.sum())
        validate_durations(durations, 2 * len(ipa) + 1, frames, name=str(path))
    except DurationError as error:
        hint = (
            " (extracted from another text, or with another --text-frontend?)"
            if len(durations) != 2 * len(ipa) + 1
            else ""
        )
        return tier | {"error": f"{error}{hint}", "cause": UNFIT_DURATIONS}
    words = tiers(ipa, durations, hop_seconds)["words"]
    tier["durations"] = durations.tolist()
    tier["words"] = [[round(float(s), 6), round(float(e), 6), label] for s, e, label in words]
    return tier


def utterance_view(corpus: Corpus, row: Row, folders: list[Folder], tokens: Tokens | TokenError) -> View:
    """The view of one filelist row (module doc), with its ``tokens`` (``aligner.tokens``); updates the row's
    one-frame share and longest token from the first folder's durations, and its status to ``invalid`` (with the
    cause) where a file there is unusable."""
    utterance = row.utterance
    if utterance is None:
        raise ValueError(f"{row.rel_path}: a row without a filelist utterance has no view")
    hop_seconds = corpus.hop_length / corpus.sample_rate
    data: dict = {"rel_path": row.rel_path, "hop_seconds": hop_seconds, "peaks_per_second": PEAKS_PER_SECOND}
    causes: list[tuple[str, str]] = []  # (cause, message) that make an ok row invalid
    ipa: str | None = None
    if isinstance(tokens, TokenError):
        data["token_error"] = str(tokens)
        causes.append((NO_TOKENS, str(tokens)))
    else:
        ipa = tokens.ipa
        data["tokens"], data["kinds"] = ipa, token_kinds(ipa)
    audio: np.ndarray | None = None
    wav = utterance.wav
    if wav.is_file():
        try:
            audio = load_wav(wav, corpus.sample_rate)
            data["wav"], data["samples"] = wav, len(audio)
            data["peaks"] = waveform_peaks(audio, corpus.sample_rate)
        except AudioError as error:
            data["audio_error"] = str(error)
            causes.append((UNREADABLE_WAV, str(error)))
    else:
        data["audio_error"] = f"{wav} not found"
    png, n_frames = None, None
    mel_file = corpus.mel(row.rel_path)
    try:
        if mel_file is not None and mel_file.is_file():
            mel = np.load(mel_file, allow_pickle=False)
        elif audio is not None:
            mel = matcha_mel(audio, corpus)
            missing = f"{mel_file} not found" if mel_file is not None else "the corpus has no mel files"
            data["spectrogram_note"] = f"{missing}: upstream Matcha's mel of the wav instead"
        else:
            mel = None
            data["spectrogram_note"] = f"{mel_file} not found"
        if mel is not None:
            png = spectrogram_png(mel)
            # a mel computed for a missing file is only a picture; without mel files it is the Matcha's own grid
            n_frames = int(mel.shape[1]) if mel_file is None or mel_file.is_file() else None
            data["mel_frames"] = int(mel.shape[1])
    except (OSError, ValueError, EOFError) as error:
        png = None
        data["spectrogram_note"] = f"cannot read the mel {mel_file} ({error})"
        causes.append((UNREADABLE_MEL, data["spectrogram_note"]))
    data["tiers"] = [durations_tier(folder, utterance, ipa, n_frames, hop_seconds) for folder in folders]
    frames = n_frames or next((sum(t["durations"]) for t in data["tiers"] if "durations" in t), None)
    data["centred"] = bool(audio is not None and frames == len(audio) // corpus.hop_length + 1)
    data["offset_seconds"] = -hop_seconds / 2 if data["centred"] else 0.0
    data["seconds"] = len(audio) / corpus.sample_rate if audio is not None else (frames or 0) * hop_seconds
    data["truth"] = read_truth(corpus.reference(row.rel_path))
    first = data["tiers"][0]
    if "durations" in first:
        durations = np.asarray(first["durations"])
        row.one_frame = float(np.mean(durations == 1))
        row.longest_symbol, row.longest_frames = longest_token(ipa or "", durations)
    elif first.get("cause") not in (None, "missing"):
        causes.append((first["cause"], first["error"]))
    if row.status == "ok" and causes:
        row.status, (row.cause, row.message) = "invalid", causes[0]
    data |= {"status": row.status, "cause": row.cause, "message": row.message}
    return View(data, png)
