"""The two aligners the extraction CLI drives, behind one small interface.

Each backend reads a wav the way its model wants it (from the corpus's mono wav at its own rate; silence
is an ``AudioError``) and turns a batch of (audio, Matcha token ids, mel frame count) into ``Alignment``
results on the Matcha mel grid (``hop_length`` samples at ``sample_rate``):

- ``Wav2Vec2Aligner``: CTC posteriors of our Wav2Vec2 aligner -> score matrix -> MAS (``aligner.extract.methods``);
- ``ASRCNNAligner``: StyleTTS2's ASRCNN attention -> MAS (``aligner.asrcnn.align``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from aligner.acoustic.features import acoustic_features
from aligner.acoustic.model import MODEL_FILE, AcousticModel, AcousticStage
from aligner.acoustic.settings import FIT_HINT, alignment_settings, check_fitted_rate
from aligner.asrcnn.align import asrcnn_align
from aligner.asrcnn.checkpoint import load_asrcnn
from aligner.asrcnn.data import read_24k
from aligner.audio import load_wav, require_audible
from aligner.ctc.input import model_input
from aligner.ctc.posteriors import CheckpointError, head_symbols, load_aligner, log_posteriors
from aligner.extract.methods import align
from aligner.search.marks import annotation_groups, settle
from aligner.search.mas import Alignment, AlignmentError
from aligner.search.timing import frame_seconds
from aligner.text import check_token_ids


@dataclass
class Wav2Vec2Audio:
    """One utterance as the Wav2Vec2 aligner reads it: the model's 16 kHz input and the wav at its own rate."""

    model_input: np.ndarray
    wav: np.ndarray


class Wav2Vec2Aligner:
    """Durations from the Wav2Vec2 CTC aligner (``method``: see ``aligner.extract.methods``); the
    ``acoustic`` method needs the checkpoint's acoustic stage (``aligner.acoustic.train``). ``marks``: how
    annotation marks are aligned (``aligner.search.marks``); ``hop_length`` and ``sample_rate``: the mel grid
    and the corpus's rate (``CheckpointError`` when the acoustic stage was fitted on audio of another band,
    ``check_fitted_rate``)."""

    def __init__(
        self,
        checkpoint: str | Path,
        device: torch.device,
        sample_rate: int,
        hop_length: int,
        method: str = "acoustic",
        offset_ms: float | None = None,
        marks: str = "one-frame",
    ) -> None:
        self.model, self.extractor = load_aligner(checkpoint, device)
        self.marks = marks
        self.hop_length = hop_length
        self.sample_rate = sample_rate
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
            check_fitted_rate(checkpoint, settings, sample_rate)
            self.acoustic = AcousticStage(model, float(settings["ctc_weight"]))

    def check(self, token_ids: list[int]) -> None:
        """``UnknownSymbolError`` naming a token the CTC head has no row for."""
        check_token_ids(token_ids, head_symbols(self.model), "the Wav2Vec2 aligner's CTC head")

    def read_audio(self, path: Path) -> Wav2Vec2Audio:
        """The wav at the corpus's rate, once it has passed ``load_wav``'s checks and is not silent, and the
        model's input: 16 kHz, normalised as the feature extractor does (as in training; normalising silence
        would blow it up to noise)."""
        wav = require_audible(load_wav(path, self.sample_rate), path)
        return Wav2Vec2Audio(model_input(wav, self.sample_rate, self.extractor), wav)

    def posteriors(self, audios: list[Wav2Vec2Audio]) -> list[torch.Tensor]:
        """CTC log-posteriors [CTC frames, symbols] of each utterance."""
        return log_posteriors(self.model, self.extractor, [audio.model_input for audio in audios])

    def features(
        self, audios: list[Wav2Vec2Audio], n_frames: list[int], centred: list[bool]
    ) -> list[torch.Tensor] | None:
        """Acoustic features [mel frames, D] of each utterance, None when the method needs none."""
        if self.acoustic is None:
            return None
        rate, seconds = self.sample_rate, frame_seconds(self.hop_length, self.sample_rate)
        return [
            acoustic_features(a.wav, rate, n, seconds, c) for a, n, c in zip(audios, n_frames, centred, strict=True)
        ]

    def durations(
        self,
        log_probs: list[torch.Tensor],
        features: list[torch.Tensor] | None,
        token_ids: list[list[int]],
        n_frames: list[int],
        centred: list[bool],
    ) -> list[Alignment | AlignmentError]:
        """Durations on the mel grid from what :meth:`posteriors` and :meth:`features` gave."""
        seconds = frame_seconds(self.hop_length, self.sample_rate)
        return align(
            log_probs, token_ids, n_frames, seconds, self.method, self.pauses_as_blank, self.offsets(centred),
            self.acoustic, features, self.marks,
        )  # fmt: skip

    def offsets(self, centred: list[bool]) -> list[float]:
        """The time of CTC frame 0's centre on each utterance's mel grid, in seconds: a ``centred`` grid's frame f
        is centred at f * hop, so its CTC frames are met half a mel frame later."""
        seconds = frame_seconds(self.hop_length, self.sample_rate)
        return [self.offset_ms / 1000 + (seconds / 2 if c else 0.0) for c in centred]

    def align(
        self, audios: list[Wav2Vec2Audio], token_ids: list[list[int]], n_frames: list[int], centred: list[bool]
    ) -> list[Alignment | AlignmentError]:
        """Durations for one batch (``centred``: whether each mel is a center=True one, samples // hop + 1 frames)."""
        features = self.features(audios, n_frames, centred)
        return self.durations(self.posteriors(audios), features, token_ids, n_frames, centred)


class ASRCNNAligner:
    """Durations from StyleTTS2's ASRCNN text aligner, on the mel grid of ``hop_length`` samples at the
    corpus's ``sample_rate``."""

    def __init__(
        self,
        checkpoint: str | Path,
        config: str | Path,
        device: torch.device,
        sample_rate: int,
        hop_length: int,
        add_blank: bool,
        attention_rows: str,
        marks: str = "one-frame",
    ) -> None:
        self.model = load_asrcnn(checkpoint, config, device)
        self.sample_rate = sample_rate
        self.frame_seconds = frame_seconds(hop_length, sample_rate)
        self.add_blank = add_blank
        self.attention_rows = attention_rows
        self.marks = marks

    def check(self, token_ids: list[int]) -> None:
        """A symbol the checkpoint's ``n_token`` does not cover is an unknown symbol."""
        check_token_ids(token_ids, self.model.n_token, "the ASRCNN checkpoint")

    def read_audio(self, path: Path) -> np.ndarray:
        """The wav (at the corpus's rate) resampled to 24 kHz, as StyleTTS2 reads it; silence refused."""
        return require_audible(read_24k(path, self.sample_rate), path)

    def align(
        self, audios: list[np.ndarray], token_ids: list[list[int]], n_frames: list[int], centred: list[bool]
    ) -> list[Alignment | AlignmentError]:
        """Durations for one batch (the ASRCNN baseline reads every grid as upstream's: ``centred`` is not used)."""
        results = asrcnn_align(
            self.model, audios, token_ids, n_frames, self.frame_seconds, self.add_blank,
            attention_rows=self.attention_rows,
        )  # fmt: skip
        groups = annotation_groups(token_ids, self.marks)
        if groups is None:
            return results
        return [
            replace(r, durations=settle(r.durations, g)) if isinstance(r, Alignment) else r
            for r, g in zip(results, groups, strict=True)
        ]
