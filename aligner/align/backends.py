"""The two aligners the extraction CLI drives, behind one small interface.

Each backend reads a wav the way its model wants it (from Matcha's 24 kHz mono wav; silence is an
``AudioError``) and turns a batch of (audio, Matcha token ids, mel frame count) into ``Alignment``
results on Matcha's hop-256 grid:

- ``Wav2Vec2Aligner``: CTC posteriors of our Wav2Vec2 aligner -> score matrix -> MAS (``aligner.align.methods``);
- ``ASRCNNAligner``: StyleTTS2's ASRCNN attention -> MAS (``aligner.asrcnn.align``).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from aligner.align.acoustic import MODEL_FILE, AcousticModel, AcousticStage, acoustic_features
from aligner.align.marks import settle
from aligner.align.methods import Alignment, AlignmentError, align, annotation_groups
from aligner.align.posteriors import CheckpointError, head_symbols, load_aligner, log_posteriors
from aligner.align.scores import NOMINAL_OFFSET_SECONDS
from aligner.align.timing import frame_seconds
from aligner.asrcnn.align import asrcnn_align
from aligner.asrcnn.checkpoint import load_asrcnn
from aligner.audio import HOP_LENGTH, SAMPLE_RATE, load_wav, require_audible
from aligner.text import check_token_ids
from aligner.train.data import model_input

CALIBRATION_FILE = "alignment.json"


FIT_HINT = "fit it with:  python -m aligner.train.acoustic --checkpoint {checkpoint} --corpus CORPUS"


def alignment_settings(checkpoint: str | Path) -> dict:
    """What ``aligner.train.acoustic`` wrote to CHECKPOINT/alignment.json (CTC frame offset, CTC weight),
    or the nominal offset alone when it has not run there."""
    path = Path(checkpoint) / CALIBRATION_FILE
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    return {"offset_ms": NOMINAL_OFFSET_SECONDS * 1000}


@dataclass
class Wav2Vec2Audio:
    """One utterance as the Wav2Vec2 aligner reads it: the model's 16 kHz input and the 24 kHz wav."""

    model_input: np.ndarray
    wav: np.ndarray


class Wav2Vec2Aligner:
    """Durations from the Wav2Vec2 CTC aligner (``method``: see ``aligner.align.methods``); the
    ``acoustic`` method needs the checkpoint's acoustic stage (``aligner.train.acoustic``). ``marks``: how
    annotation marks are aligned (``aligner.align.marks``); ``hop_length``: the mel grid's hop at 24 kHz."""

    def __init__(
        self,
        checkpoint: str | Path,
        device: torch.device,
        method: str = "acoustic",
        offset_ms: float | None = None,
        marks: str = "one-frame",
        hop_length: int = HOP_LENGTH,
    ) -> None:
        self.model, self.extractor = load_aligner(checkpoint, device)
        self.marks = marks
        self.hop_length = hop_length
        self.pauses_as_blank = getattr(self.model.config, "ctc_targets", "all") == "phones"
        self.method = method
        settings = alignment_settings(checkpoint)
        self.offset_ms = float(settings["offset_ms"]) if offset_ms is None else offset_ms
        hint = FIT_HINT.format(checkpoint=checkpoint)
        if offset_ms is None and "ctc_weight" not in settings:
            print(f"{checkpoint}: no CTC frame offset fitted (alignment.json); using the nominal "
                  f"{self.offset_ms} ms; {hint}", file=sys.stderr)  # fmt: skip
        self.acoustic = None
        if method == "acoustic":
            try:
                model = AcousticModel.load(checkpoint)
            except FileNotFoundError as error:
                raise CheckpointError(
                    f"{checkpoint} has no acoustic stage ({MODEL_FILE}); {hint}, or use --method mel (CTC scores alone)"
                ) from error
            if "ctc_weight" not in settings:
                raise CheckpointError(f"{checkpoint}: {MODEL_FILE} without its alignment.json; {hint}")
            self.acoustic = AcousticStage(model, float(settings["ctc_weight"]))

    def check(self, token_ids: list[int]) -> None:
        """``UnknownSymbolError`` naming a token the CTC head has no row for."""
        check_token_ids(token_ids, head_symbols(self.model), "the Wav2Vec2 aligner's CTC head")

    def read_audio(self, path: Path) -> Wav2Vec2Audio:
        """The 24 kHz wav, once it has passed ``load_wav``'s checks and is not silent, and the model's
        input: 16 kHz, normalised as the feature extractor does (as in training; normalising silence
        would blow it up to noise)."""
        wav = require_audible(load_wav(path, SAMPLE_RATE), path)
        return Wav2Vec2Audio(model_input(wav, SAMPLE_RATE, self.extractor), wav)

    def posteriors(self, audios: list[Wav2Vec2Audio]) -> list[torch.Tensor]:
        """CTC log-posteriors [CTC frames, symbols] of each utterance."""
        return log_posteriors(self.model, self.extractor, [audio.model_input for audio in audios])

    def features(
        self, audios: list[Wav2Vec2Audio], n_frames: list[int], centred: list[bool]
    ) -> list[torch.Tensor] | None:
        """Acoustic features [mel frames, D] of each utterance, None when the method needs none."""
        if self.acoustic is None:
            return None
        hop = self.hop_length
        return [acoustic_features(a.wav, n, c, hop) for a, n, c in zip(audios, n_frames, centred, strict=True)]

    def durations(
        self,
        log_probs: list[torch.Tensor],
        features: list[torch.Tensor] | None,
        token_ids: list[list[int]],
        n_frames: list[int],
        centred: list[bool],
    ) -> list[Alignment | AlignmentError]:
        """Durations on the mel grid from what :meth:`posteriors` and :meth:`features` gave; a ``centred``
        grid's frame f is centred at f * hop, so its CTC frames are met half a mel frame later."""
        seconds = frame_seconds(self.hop_length)
        offsets = [self.offset_ms / 1000 + (seconds / 2 if c else 0.0) for c in centred]
        return align(
            log_probs, token_ids, n_frames, seconds, self.method, self.pauses_as_blank, offsets,
            self.acoustic, features, self.marks,
        )  # fmt: skip

    def align(
        self, audios: list[Wav2Vec2Audio], token_ids: list[list[int]], n_frames: list[int], centred: list[bool]
    ) -> list[Alignment | AlignmentError]:
        """Durations for one batch (``centred``: whether each mel is a center=True one, samples // hop + 1 frames)."""
        features = self.features(audios, n_frames, centred)
        return self.durations(self.posteriors(audios), features, token_ids, n_frames, centred)


class ASRCNNAligner:
    """Durations from StyleTTS2's ASRCNN text aligner."""

    def __init__(
        self,
        checkpoint: str | Path,
        config: str | Path,
        device: torch.device,
        add_blank: bool,
        attention_rows: str,
        marks: str = "one-frame",
    ) -> None:
        self.model = load_asrcnn(checkpoint, config, device)
        self.add_blank = add_blank
        self.attention_rows = attention_rows
        self.marks = marks

    def check(self, token_ids: list[int]) -> None:
        """A symbol the checkpoint's ``n_token`` does not cover is an unknown symbol."""
        check_token_ids(token_ids, self.model.n_token, "the ASRCNN checkpoint")

    def read_audio(self, path: Path) -> np.ndarray:
        """24 kHz, as StyleTTS2 reads it; silence refused."""
        return require_audible(load_wav(path, SAMPLE_RATE), path)

    def align(
        self, audios: list[np.ndarray], token_ids: list[list[int]], n_frames: list[int], centred: list[bool]
    ) -> list[Alignment | AlignmentError]:
        """Durations for one batch (the ASRCNN baseline reads every grid as upstream's: ``centred`` is not used)."""
        results = asrcnn_align(
            self.model, audios, token_ids, n_frames, self.add_blank, attention_rows=self.attention_rows
        )
        groups = annotation_groups(token_ids, self.marks)
        if groups is None:
            return results
        return [
            replace(r, durations=settle(r.durations, g)) if isinstance(r, Alignment) else r
            for r, g in zip(results, groups, strict=True)
        ]
