"""The two aligners the extraction CLI drives, behind one small interface.

Each backend reads a wav the way its model wants it (from Matcha's 24 kHz mono wav; silence is an
``AudioError``) and turns a batch of (audio, Matcha token ids, mel frame count) into ``Alignment``
results on Matcha's hop-256 grid:

- ``Wav2Vec2Aligner``: CTC posteriors of our Wav2Vec2 aligner -> score matrix -> MAS (``aligner.align.methods``);
- ``ASRCNNAligner``: StyleTTS2's ASRCNN attention -> MAS (``matcha.utils.ASR.align``).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from aligner.align.acoustic import MODEL_FILE, AcousticModel, AcousticStage, acoustic_features
from aligner.align.methods import Alignment, AlignmentError, align
from aligner.align.posteriors import CheckpointError, load_aligner, log_posteriors
from aligner.align.scores import NOMINAL_OFFSET_SECONDS
from aligner.align.timing import frame_seconds
from aligner.audio import SAMPLE_RATE, load_wav, require_audible
from aligner.train.data import model_input
from matcha.utils.ASR.align import asrcnn_align, check_token_ids
from matcha.utils.ASR.checkpoint import load_asrcnn

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
    ``acoustic`` method needs the checkpoint's acoustic stage (``aligner.train.acoustic``)."""

    def __init__(
        self, checkpoint: str | Path, device: torch.device, method: str = "acoustic", offset_ms: float | None = None
    ) -> None:
        self.model, self.extractor = load_aligner(checkpoint, device)
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
        """Every Matcha symbol has a row in the CTC head: nothing to check."""

    def read_audio(self, path: Path) -> Wav2Vec2Audio:
        """The 24 kHz wav, once it has passed ``load_wav``'s checks and is not silent, and the model's
        input: 16 kHz, normalised as the feature extractor does (as in training; normalising silence
        would blow it up to noise)."""
        wav = require_audible(load_wav(path, SAMPLE_RATE), path)
        return Wav2Vec2Audio(model_input(wav, SAMPLE_RATE, self.extractor), wav)

    def posteriors(self, audios: list[Wav2Vec2Audio]) -> list[torch.Tensor]:
        """CTC log-posteriors [CTC frames, symbols] of each utterance."""
        return log_posteriors(self.model, self.extractor, [audio.model_input for audio in audios])

    def features(self, audios: list[Wav2Vec2Audio], n_frames: list[int]) -> list[torch.Tensor] | None:
        """Acoustic features [mel frames, D] of each utterance, None when the method needs none."""
        if self.acoustic is None:
            return None
        return [acoustic_features(audio.wav, n) for audio, n in zip(audios, n_frames, strict=True)]

    def durations(
        self,
        log_probs: list[torch.Tensor],
        features: list[torch.Tensor] | None,
        token_ids: list[list[int]],
        n_frames: list[int],
    ) -> list[Alignment | AlignmentError]:
        """Durations on the mel grid from what :meth:`posteriors` and :meth:`features` gave."""
        offset = self.offset_ms / 1000
        return align(
            log_probs, token_ids, n_frames, frame_seconds(), self.method, self.pauses_as_blank, offset,
            self.acoustic, features,
        )  # fmt: skip

    def align(
        self, audios: list[Wav2Vec2Audio], token_ids: list[list[int]], n_frames: list[int]
    ) -> list[Alignment | AlignmentError]:
        """Durations for one batch."""
        return self.durations(self.posteriors(audios), self.features(audios, n_frames), token_ids, n_frames)


class ASRCNNAligner:
    """Durations from StyleTTS2's ASRCNN text aligner."""

    def __init__(
        self, checkpoint: str | Path, config: str | Path, device: torch.device, add_blank: bool, attention_rows: str
    ) -> None:
        self.model = load_asrcnn(checkpoint, config, device)
        self.add_blank = add_blank
        self.attention_rows = attention_rows

    def check(self, token_ids: list[int]) -> None:
        """A symbol the checkpoint's ``n_token`` does not cover is an unknown symbol."""
        check_token_ids(token_ids, self.model.n_token)

    def read_audio(self, path: Path) -> np.ndarray:
        """24 kHz, as StyleTTS2 reads it; silence refused."""
        return require_audible(load_wav(path, SAMPLE_RATE), path)

    def align(
        self, audios: list[np.ndarray], token_ids: list[list[int]], n_frames: list[int]
    ) -> list[Alignment | AlignmentError]:
        """Durations for one batch."""
        return asrcnn_align(self.model, audios, token_ids, n_frames, self.add_blank, attention_rows=self.attention_rows)
