"""Acoustic scores on Matcha's mel grid: the stage that puts boundaries where the sound changes.

A CTC model trained without boundaries knows *which* token is spoken near a frame, but it places its
evidence in one-frame spikes between long blanks, so MAS over CTC scores gives each phone token a
frame or two and the blanks the rest. This stage scores every mel frame against diagonal Gaussians on
short-time spectral features, so a token's score is high exactly over the frames that sound like it.

**Features** of mel frame f (centred at (f + 0.5) * hop / sample_rate seconds, the Matcha grid of any rate),
from the wav resampled to ``TTS_SAMPLE_RATE`` (24 kHz) whatever its own rate, so that a stage fitted on one
corpus scores another at any rate alike: the 80-band log-mel of upstream Matcha's 1024-sample (42.7 ms)
window and a 40-band log-mel of a 384-sample (16 ms) window on the same centres, both 0-8 kHz,
with their first and second deltas (torchaudio's ``compute_deltas``), normalised per utterance (zero
mean and unit variance per dimension): 360 numbers per frame. A fitted model scores instead the LDA
projection (``LDA_DIMS``) of the 120 log-mel numbers of 9 frames around f (``project``).

**Classes**: a phone token's class is its Matcha symbol id; blanks, spaces and punctuation share
class 0, the pause, so an interspersed blank keeps the contract's one frame inside speech and grows
only over a pause. A two-state model gives each phone token (not an annotation mark) an onset and an
offset row (``aligner.search.states``), each with its state class (``state_class``); with a context tree
(``aligner.acoustic.context``) a state's Gaussian also depends on the phone's neighbours.

The Gaussians are fitted by Viterbi training (hard EM: align, re-estimate, re-align, as HMM forced
aligners such as the Montreal Forced Aligner train) in :mod:`aligner.acoustic.train`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.linalg
import torch
from safetensors.torch import load_file, save_file

from aligner.acoustic.adapt import transform
from aligner.acoustic.context import ContextTree, is_context_phone, token_contexts
from aligner.acoustic.features import project
from aligner.durations import atomic_write
from aligner.search.states import state_rows
from aligner.text import BLANK_ID, NON_PHONE_IDS, symbols

MODEL_FILE = "acoustic_model.safetensors"
PAUSE_CLASS = 0
N_CLASSES = len(symbols)
MIN_PAUSE_FRAMES = 3  # a run of non-phone tokens shorter than this is a junction, not a pause
VARIANCE_FLOOR = 0.05  # share of the pooled variance a class variance may not go below
MIN_CLASS_FRAMES = 20  # a class seen on fewer frames keeps the pooled variance
BLANK_TIE_BREAK = 1e-3  # per frame: pause frames go to space/punctuation tokens before their blanks


class ScatterStats:
    """Class counts, class sums and the total scatter of spliced frames, in float64: what an LDA needs."""

    def __init__(self, dim: int, n_classes: int) -> None:
        self.counts = torch.zeros(n_classes, dtype=torch.float64)
        self.sums = torch.zeros(n_classes, dim, dtype=torch.float64)
        self.scatter = torch.zeros(dim, dim, dtype=torch.float64)

    def add(self, frames: torch.Tensor, labels: torch.Tensor) -> None:
        """Add frames [frames, dim] with their class labels [frames] (-1: skipped)."""
        keep = labels >= 0
        x, labels = frames[keep].double(), labels[keep]
        self.counts.index_add_(0, labels, torch.ones(len(labels), dtype=torch.float64))
        self.sums.index_add_(0, labels, x)
        self.scatter += x.T @ x

    def projection(self, dims: int) -> torch.Tensor:
        """The LDA projection [dim, dims] (float32): the ``dims`` directions of largest between-class over
        within-class variance, from the generalised symmetric eigenproblem S_b v = lambda S_w v
        (scipy.linalg.eigh; Fisher's linear discriminant, as Kaldi's LDA over spliced frames). S_w gets a
        ridge of 1e-6 of its mean diagonal so rank-deficient frames stay solvable. ``ValueError`` without frames."""
        seen = self.counts > 0
        total = self.counts.sum()
        if total == 0:
            raise ValueError("no frame to fit the LDA on")
        mean = self.sums.sum(0) / total
        class_means = self.sums[seen] / self.counts[seen, None]
        within = self.scatter - (class_means.T * self.counts[seen]) @ class_means
        between = self.scatter - total * torch.outer(mean, mean) - within
        ridge = 1e-6 * float(torch.diagonal(within).mean()) * np.eye(len(within))
        _, vectors = scipy.linalg.eigh(between.numpy(), within.numpy() + ridge)
        return torch.from_numpy(vectors[:, ::-1][:, :dims].copy()).float()


def token_classes(token_ids: list[int]) -> torch.Tensor:
    """Class of each token [tokens] (int64): its symbol id for a phone, ``PAUSE_CLASS`` otherwise."""
    pause = set(NON_PHONE_IDS) | {BLANK_ID}
    return torch.tensor([PAUSE_CLASS if i in pause else i for i in token_ids], dtype=torch.long)


def state_class(classes: torch.Tensor, states: torch.Tensor) -> torch.Tensor:
    """Class of a state [n]: a phone class plus ``N_CLASSES`` times its state (0 or 1); the pause stays
    ``PAUSE_CLASS``. ``classes`` and ``states`` [n] (int64)."""
    return torch.where(classes == PAUSE_CLASS, classes, classes + N_CLASSES * states)


def training_labels(token_ids: list[int], durations: torch.Tensor) -> torch.Tensor:
    """Class of each frame [frames] under an alignment, -1 for frames that train no class.

    Phone tokens train their class on every frame they hold. The pause class trains only on real
    pauses: runs of at least ``MIN_PAUSE_FRAMES`` frames held by non-phone tokens, among them a space,
    a punctuation mark or the leading or trailing blank; a run of blanks between two phones is a
    junction (in a CTC alignment, the speech between two spikes) and trains nothing."""
    classes = token_classes(token_ids)
    owner = torch.repeat_interleave(torch.arange(len(token_ids)), durations)
    labels = classes[owner].clone()
    last = len(token_ids) - 1
    is_pause = labels == PAUSE_CLASS
    edges = torch.nonzero(is_pause[1:] != is_pause[:-1]).flatten() + 1
    bounds = [0, *edges.tolist(), len(owner)]
    for start, end in zip(bounds[:-1], bounds[1:], strict=True):
        if not is_pause[start]:
            continue
        tokens = set(owner[start:end].tolist())
        real = any(token_ids[k] != BLANK_ID or k in (0, last) for k in tokens)
        if end - start < MIN_PAUSE_FRAMES or not real:
            labels[start:end] = -1
    return labels


@dataclass
class GaussianStats:
    """Sufficient statistics of one diagonal Gaussian per class: frame counts [C], sums [C, D] and
    sums of squares [C, D], in float64."""

    counts: torch.Tensor
    sums: torch.Tensor
    squares: torch.Tensor

    @classmethod
    def empty(cls, dim: int, n_classes: int = N_CLASSES) -> GaussianStats:
        """Zero statistics for ``n_classes`` classes of ``dim`` features."""
        zeros = torch.zeros(n_classes, dim, dtype=torch.float64)
        return cls(torch.zeros(n_classes, dtype=torch.float64), zeros, zeros.clone())

    def add(self, features: torch.Tensor, labels: torch.Tensor) -> None:
        """Add frames [frames, D] with their class labels [frames] (-1: skipped)."""
        keep = labels >= 0
        x, labels = features[keep].double(), labels[keep]
        self.counts.index_add_(0, labels, torch.ones(len(labels), dtype=torch.float64))
        self.sums.index_add_(0, labels, x)
        self.squares.index_add_(0, labels, x * x)

    def pooled(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and variance [D] of all frames of all classes together."""
        total = self.counts.sum()
        mean = self.sums.sum(0) / total
        return mean, self.squares.sum(0) / total - mean**2

    def tied(self, group: torch.Tensor) -> GaussianStats:
        """The statistics of groups of classes: class c goes to group ``group[c]`` ([C], int64)."""
        result = GaussianStats.empty(self.sums.shape[1], int(group.max()) + 1)
        result.counts.index_add_(0, group, self.counts)
        result.sums.index_add_(0, group, self.sums)
        result.squares.index_add_(0, group, self.squares)
        return result


@dataclass
class AcousticModel:
    """Diagonal Gaussians: means and variances [G, D] (float32), training frames of each [G]. Without a
    ``tree`` there is one per class (``token_classes``); with one, a phone token's Gaussian is the leaf of
    its context (``aligner.acoustic.context``)."""

    means: torch.Tensor
    variances: torch.Tensor
    counts: torch.Tensor
    tree: ContextTree | None = None
    projection: torch.Tensor | None = None
    n_states: int = 1

    def features(self, features: torch.Tensor, speaker_transform: torch.Tensor | None = None) -> torch.Tensor:
        """What the Gaussians score: ``features`` [frames, 360] themselves, or their LDA projection
        (``project``) when the model has one, through the speaker's fMLLR transform [D, D + 1]
        (``aligner.acoustic.adapt``) when one is given."""
        features = features if self.projection is None else project(features, self.projection)
        return features if speaker_transform is None else transform(features, speaker_transform)

    def rows(self, token_ids: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """The rows the model scores (``aligner.search.states.state_rows``): one per token, two per phone token
        (not an annotation mark) of a two-state model. Returns the token [rows] and the state [rows] of each."""
        two = [self.n_states == 2 and is_context_phone(i) for i in token_ids]
        return state_rows(two)

    def row_gaussians(self, token_ids: list[int], rows: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """The Gaussian of every row [rows] (int64): the state class of its token (``state_class``), or with a
        tree the leaf of that class in the token's context."""
        row_token, row_state = rows
        classes = state_class(token_classes(token_ids)[row_token], row_state)
        if self.tree is None:
            return classes
        contexts = token_contexts(token_ids)
        return torch.tensor(
            [
                c if c == PAUSE_CLASS else self.tree.gaussian_of(c, *contexts[k])
                for k, c in zip(row_token.tolist(), classes.tolist(), strict=True)
            ],
            dtype=torch.long,
        )

    @classmethod
    def from_stats(
        cls,
        stats: GaussianStats,
        tree: ContextTree | None = None,
        projection: torch.Tensor | None = None,
        n_states: int = 1,
    ) -> AcousticModel:
        """Maximum-likelihood Gaussians. Variances are floored at ``VARIANCE_FLOOR`` of the pooled
        variance; a class seen on fewer than ``MIN_CLASS_FRAMES`` frames keeps the pooled variance, and
        one never seen the pooled mean too (it then scores every frame alike: the CTC scores decide)."""
        if stats.counts.sum() == 0:
            raise ValueError("no frame to fit the acoustic model on")
        pooled_mean, pooled_var = stats.pooled()
        n = stats.counts.clamp(min=1)[:, None]
        means = stats.sums / n
        variances = torch.maximum(stats.squares / n - means**2, VARIANCE_FLOOR * pooled_var)
        rare = stats.counts < MIN_CLASS_FRAMES
        variances[rare] = pooled_var
        means[stats.counts == 0] = pooled_mean
        return cls(means.float(), variances.float(), stats.counts.float(), tree, projection, n_states)

    def log_likelihoods(self, features: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        """Scores [tokens, frames]: log-density (without the constant) of every frame [frames, D]
        under the Gaussian of every token's class [tokens]."""
        means = self.means.to(features.device)[classes]
        variances = self.variances.to(features.device)[classes]
        precision = 1.0 / variances
        # sum_d (x - m)^2 / v = x^2 . p - 2 x . (m p) + m^2 . p, as matrix products
        quadratic = (features**2) @ precision.T - 2 * features @ (means * precision).T + (means**2 * precision).sum(1)
        return -0.5 * (quadratic.T + torch.log(variances).sum(1)[:, None])

    def save(self, folder: str | Path) -> None:
        """Write ``folder/acoustic_model.safetensors`` (whole or not at all: ``atomic_write``)."""
        tensors = {"means": self.means, "variances": self.variances, "counts": self.counts}
        if self.tree is not None:
            tensors.update(self.tree.tensors())
        if self.projection is not None:
            tensors["projection"] = self.projection
        tensors["n_states"] = torch.tensor([self.n_states])
        tensors = {k: v.contiguous() for k, v in tensors.items()}
        atomic_write(Path(folder) / MODEL_FILE, lambda tmp: save_file(tensors, tmp))

    @classmethod
    def load(cls, folder: str | Path) -> AcousticModel:
        """Read ``folder/acoustic_model.safetensors``; ``FileNotFoundError`` when absent."""
        path = Path(folder) / MODEL_FILE
        if not path.is_file():
            raise FileNotFoundError(path)
        tensors = load_file(str(path))
        return cls(
            tensors["means"],
            tensors["variances"],
            tensors["counts"],
            ContextTree.from_tensors(tensors),
            tensors.get("projection"),
            int(tensors["n_states"]) if "n_states" in tensors else 1,
        )


def blank_tie_break(token_ids: list[int]) -> torch.Tensor:
    """Per-row score offsets [tokens]: ``-BLANK_TIE_BREAK`` for blanks, 0 otherwise, so that a pause
    goes to the space or punctuation token beside it, its blanks keeping one frame each."""
    return torch.tensor([-BLANK_TIE_BREAK if i == BLANK_ID else 0.0 for i in token_ids])


@dataclass
class AcousticStage:
    """What the ``acoustic`` alignment method scores with: the Gaussians and the weight of the CTC scores."""

    model: AcousticModel
    ctc_weight: float

    def scores(
        self,
        features: torch.Tensor,
        token_ids: list[int],
        rows: tuple[torch.Tensor, torch.Tensor],
        ctc_scores: torch.Tensor,
        speaker_transform: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Score matrix [rows, frames] over the model's ``rows`` of ``token_ids`` (``AcousticModel.rows``: one
        row per token for a one-state model): acoustic log-likelihoods of ``features`` [frames, D] (through the
        speaker's transform, ``AcousticModel.features``), plus
        ``ctc_weight`` times the CTC scores of the row's token on the mel grid (``ctc_scores`` [tokens,
        frames]), plus the blank tie-break."""
        device = ctc_scores.device
        row_token = rows[0].to(device)
        acoustic = self.model.log_likelihoods(
            self.model.features(features, speaker_transform).to(device),
            self.model.row_gaussians(token_ids, rows).to(device),
        )
        tie_break = blank_tie_break(token_ids).to(device)[row_token, None]
        return acoustic + self.ctc_weight * ctc_scores[row_token] + tie_break
