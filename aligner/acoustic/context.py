"""Context-dependent Gaussians: a phone's model depends on its neighbours, tied by a decision tree.

A phone sounds different after a vowel than after a stop, and its boundaries move with it. So, as HMM
aligners do (triphones), the acoustic stage may give a phone token one Gaussian per *context*: its
phone, the phone before it and the phone after it. Most contexts are rare, so contexts share Gaussians
through one binary tree per phone: every node asks a question about the left or the right neighbour
("is it a pause?", "is it a nasal?": a phonological feature of panphon's table), and a node is split
where the split raises the log-likelihood of its frames by at least ``min_gain`` per frame with at least
``min_frames`` frames on each side (tree-based state tying: Young, Odell & Woodland 1994, "Tree-based
state tying for high accuracy acoustic modelling"; Kaldi's and so the Montreal Forced Aligner's
triphone training). The tree is grown from the frames an alignment gives each context, with no truth.

A neighbour is the nearest phone token to either side, skipping blanks, spaces (a word boundary in
running speech is not a pause) and annotation marks; punctuation and the utterance's ends give ``PAUSE``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import torch

from aligner.search.marks import is_mark
from aligner.text import BLANK_ID, SPACE_ID, is_phone_symbol, symbols

PAUSE = 0  # context symbol of a phone beside punctuation or at an utterance's end
# espeak symbols panphon spells otherwise (ASCII g, r-coloured vowels, ligatures, barred i)
FEATURE_SPELLING = {"g": "ɡ", "ɚ": "ə", "ɝ": "ɜ", "ʤ": "d͡ʒ", "ʧ": "t͡ʃ", "ᵻ": "ɨ"}


@functools.cache
def questions() -> torch.Tensor:
    """Which symbols answer yes to every question [questions, symbols] (bool): question 0 is "is it the
    pause", question 1 + i "has it feature i of panphon's table" (+ for that feature); a symbol panphon does
    not know answers no to every feature question."""
    import panphon  # only to grow trees: a saved tree keeps its answers (its table takes 2 s to load)

    table = panphon.FeatureTable()
    answers = torch.zeros(1 + len(table.names), len(symbols), dtype=torch.bool)
    answers[0, PAUSE] = True
    for symbol_id, symbol in enumerate(symbols):
        segments = table.word_fts(FEATURE_SPELLING.get(symbol, symbol)) if is_phone_symbol(symbol) else []
        if len(segments) == 1:
            answers[1:, symbol_id] = torch.tensor(segments[0].numeric()) > 0
    return answers


@functools.cache
def is_context_phone(token_id: int) -> bool:
    """Whether a token counts as a neighbour: a phone symbol that is not an annotation mark."""
    return token_id != BLANK_ID and is_phone_symbol(symbols[token_id]) and not is_mark(token_id)


def token_contexts(token_ids: list[int]) -> list[tuple[int, int]]:
    """(left, right) neighbour symbol ids of every token (module doc); ``(PAUSE, PAUSE)`` for non-phones."""
    lefts = _nearest_before(token_ids)
    rights = _nearest_before(token_ids[::-1])[::-1]
    return [
        (left, right) if is_context_phone(token) or is_mark(token) else (PAUSE, PAUSE)
        for token, left, right in zip(token_ids, lefts, rights, strict=True)
    ]


def _nearest_before(token_ids: list[int]) -> list[int]:
    """The nearest context phone before each token: ``PAUSE`` at the start and after punctuation."""
    nearest, last = [], PAUSE
    for token in token_ids:
        nearest.append(last)
        if is_context_phone(token):
            last = token
        elif _breaks_context(token):
            last = PAUSE
    return nearest


@functools.cache
def _breaks_context(token_id: int) -> bool:
    return token_id not in (BLANK_ID, SPACE_ID) and not is_phone_symbol(symbols[token_id])


TREE_ARRAYS = ("roots", "question", "side", "yes", "no", "gaussian", "answers")


@dataclass
class ContextTree:
    """The trees of every phone, as flat node arrays (int64 [nodes]): the question a node asks (a row of
    ``answers``, the ``questions()`` the trees were grown with, kept so that a saved tree needs no panphon),
    on which side (0 left, 1 right), its yes and no children, and for a leaf (question -1) its Gaussian.
    ``roots`` [classes]: each class's root node, -1 for a class without a tree (its Gaussian is then the
    class itself)."""

    roots: torch.Tensor
    question: torch.Tensor
    side: torch.Tensor
    yes: torch.Tensor
    no: torch.Tensor
    gaussian: torch.Tensor
    answers: torch.Tensor
    _known: dict[tuple[int, int, int], int] = field(default_factory=dict, repr=False, compare=False)

    def gaussian_of(self, phone: int, left: int, right: int) -> int:
        """The Gaussian of ``phone`` between the context symbols ``left`` and ``right``."""
        key = (phone, left, right)
        if key not in self._known:
            node = int(self.roots[phone])
            while node >= 0 and int(self.question[node]) >= 0:
                neighbour = right if int(self.side[node]) else left
                node = int(self.yes[node] if self.answers[self.question[node], neighbour] else self.no[node])
            self._known[key] = phone if node < 0 else int(self.gaussian[node])
        return self._known[key]

    def tensors(self) -> dict[str, torch.Tensor]:
        """The arrays by name, for a safetensors file."""
        return {f"tree_{name}": getattr(self, name) for name in TREE_ARRAYS}

    @classmethod
    def from_tensors(cls, tensors: dict[str, torch.Tensor]) -> ContextTree | None:
        """The tree saved by :meth:`tensors`, None when there is none."""
        if "tree_roots" not in tensors:
            return None
        return cls(*(tensors[f"tree_{name}"] for name in TREE_ARRAYS))


def log_likelihood(
    counts: torch.Tensor, sums: torch.Tensor, squares: torch.Tensor, floor: torch.Tensor
) -> torch.Tensor:
    """Log-likelihood (without constants) of sets of frames under their own diagonal Gaussian [sets]:
    ``-0.5 * n * sum(log variance)``, from counts [sets], sums and squares [sets, D]; variances floored at
    ``floor`` [D]."""
    n = counts.clamp(min=1)[:, None]
    variances = torch.maximum(squares / n - (sums / n) ** 2, floor).clamp(min=1e-12)  # a constant dimension: no -inf
    return -0.5 * counts * torch.log(variances).sum(1)


def grow_trees(
    keys: list[tuple[int, int, int]],
    counts: torch.Tensor,
    sums: torch.Tensor,
    squares: torch.Tensor,
    floor: torch.Tensor,
    min_frames: int,
    min_gain: float,
    n_classes: int = len(symbols),
) -> tuple[ContextTree, torch.Tensor]:
    """Grow every phone's tree from the frames of its contexts and return it with the key -> Gaussian map.

    ``keys``: (phone, left, right) of each context; ``counts`` [keys], ``sums`` and ``squares`` [keys, D]
    (float64): the frames an alignment gave each context. A node splits on the question with the largest
    log-likelihood gain when that gain is at least ``min_gain`` per frame of the node and each side keeps
    ``min_frames`` frames. The phones of the keys are classes below ``n_classes`` (symbol ids, or the state
    classes of ``aligner.acoustic.model.state_class``); Gaussians are numbered from ``n_classes`` up (ids
    below stay the plain classes: the pause and classes without a tree). Returns the tree and the Gaussian of
    each key [keys] (int64)."""
    answers = questions()
    nodes: dict[str, list[int]] = {name: [] for name in ("question", "side", "yes", "no", "gaussian")}
    roots = torch.full((n_classes,), -1, dtype=torch.long)
    key_gaussian = torch.tensor([phone for phone, _, _ in keys], dtype=torch.long)
    neighbours = torch.tensor([[left, right] for _, left, right in keys], dtype=torch.long).reshape(-1, 2)
    next_gaussian = n_classes

    def new_node() -> int:
        for values in nodes.values():
            values.append(-1)
        return len(nodes["question"]) - 1

    def grow(members: torch.Tensor) -> int:
        nonlocal next_gaussian
        node = new_node()
        n, s, q = counts[members], sums[members], squares[members]
        parent = log_likelihood(n.sum()[None], s.sum(0)[None], q.sum(0)[None], floor)[0]
        best = None
        for side in (0, 1):
            yes_sets = answers[:, neighbours[members, side]].double()  # [questions, members]
            yes_n, no_n = yes_sets @ n, (1 - yes_sets) @ n
            gains = (
                log_likelihood(yes_n, yes_sets @ s, yes_sets @ q, floor)
                + log_likelihood(no_n, (1 - yes_sets) @ s, (1 - yes_sets) @ q, floor)
                - parent
            )
            gains[(yes_n < min_frames) | (no_n < min_frames)] = -torch.inf
            question = int(gains.argmax())
            if best is None or gains[question] > best[0]:
                best = (float(gains[question]), side, question)
        gain, side, question = best
        if gain < min_gain * float(n.sum()):
            key_gaussian[members] = next_gaussian
            nodes["gaussian"][node] = next_gaussian
            next_gaussian += 1
            return node
        is_yes = answers[question, neighbours[members, side]]
        nodes["question"][node], nodes["side"][node] = question, side
        nodes["yes"][node] = grow(members[is_yes])
        nodes["no"][node] = grow(members[~is_yes])
        return node

    phones = torch.tensor([phone for phone, _, _ in keys], dtype=torch.long)
    for phone in sorted(set(phones.tolist()) - {PAUSE}):
        roots[phone] = grow(torch.nonzero(phones == phone).flatten())
    tree = ContextTree(roots, *(torch.tensor(nodes[name], dtype=torch.long) for name in nodes), answers)
    return tree, key_gaussian
