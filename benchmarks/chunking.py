"""Benchmark: how much the CTC posteriors' chunking (``aligner.ctc.posteriors.log_posteriors``: windows of
``chunk_seconds`` with ``context_seconds`` on each side) changes long utterances' posteriors and durations.

    python benchmarks/chunking.py --checkpoint outputs/aligner/tiny --source data/demo \
        [--seconds 90 150] [--chunk 30] [--context 0.5 1 2 4] [--out outputs/benchmarks/chunking]

Builds a corpus of long utterances (``--seconds``), each of consecutive utterances of one speaker of
``--source`` (a demo-layout corpus with mels) joined with 0.3 s of silence, texts joined by spaces, with its
mels. Then, for every ``--context`` and for no chunking at all (one forward pass over the whole utterance):
the log-posteriors (mean |difference| from the unchunked ones and the share of frames whose best symbol
differs, apart for frames within a context of a chunk edge) and the durations of extraction's two methods
(``--method mel`` and ``acoustic``: share of token boundaries that moved, and the largest move in frames). A
model whose feature encoder normalises over the whole input (GroupNorm, tiny.yaml's) differs at every frame.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from common import WORK

import aligner.extract.backends
from aligner.corpus import read_metadata
from aligner.ctc.input import model_input
from aligner.ctc.posteriors import chunk_windows, frame_geometry, load_aligner, log_posteriors
from aligner.durations import load_durations
from aligner.extract.cli import main as extract
from aligner.mels import main as compute_mels

GAP_SECONDS = 0.3
UNCHUNKED = 1e9  # seconds: one window for any utterance


def build_long_corpus(source: Path, out: Path, targets: list[float]) -> list[str]:
    """Write ``out`` (wavs/0/long_S.wav, metadata.csv, mels) with one utterance of at least S seconds per
    target, from consecutive utterances of ``source``'s first speaker; returns their rel_paths."""
    every = read_metadata(source)
    utterances = [u for u in every if u.spk_id == every[0].spk_id]
    lines, rel_paths, used = [], [], 0
    for target in targets:
        pieces, texts, seconds, rate = [], [], 0.0, None
        while seconds < target:
            utterance = utterances[used % len(utterances)]
            used += 1
            audio, rate = sf.read(utterance.wav, dtype="float32")
            pieces += [audio, np.zeros(round(GAP_SECONDS * rate), dtype=np.float32)]
            texts.append(utterance.text)
            seconds += len(audio) / rate + GAP_SECONDS
        rel_path = f"0/long_{round(target)}"
        (out / "wavs" / "0").mkdir(parents=True, exist_ok=True)
        sf.write(out / "wavs" / f"{rel_path}.wav", np.concatenate(pieces[:-1]), rate)
        lines.append(f"{rel_path}|0|{utterances[0].language}|{' '.join(texts)}")
        rel_paths.append(rel_path)
    (out / "metadata.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert compute_mels(["--corpus", str(out)]) == 0
    return rel_paths


def posterior_figures(reference: torch.Tensor, chunked: torch.Tensor, edge: np.ndarray) -> list[float]:
    """Mean |log-posterior difference| and share of frames whose best symbol differs, for the frames near a
    chunk edge (``edge`` [frames], bool) and for the others: [near |d|, near share, other |d|, other share]
    (NaN where there are no such frames)."""
    difference = (chunked - reference).abs().mean(1).numpy()
    flipped = (chunked.argmax(1) != reference.argmax(1)).numpy()
    figures = []
    for where in (edge, ~edge):
        figures += [float(difference[where].mean()), float(flipped[where].mean())] if where.any() else [np.nan] * 2
    return figures


def edge_frames(n_frames: int, chunk: int, context: int) -> np.ndarray:
    """Frames within ``context`` of an edge between two chunks [n_frames] (bool)."""
    edge = np.zeros(n_frames, dtype=bool)
    if n_frames > chunk + 2 * context:
        for _, first, _ in chunk_windows(n_frames, chunk, context)[1:]:
            edge[max(first - context, 0) : first + context] = True
    return edge


def durations_of(corpus: Path, checkpoint: Path, method: str, chunk: float, context: float, out: Path) -> dict:
    """Extraction's durations of every utterance of ``corpus`` with posteriors chunked so (its own output
    kept back)."""
    chunked = functools.partial(log_posteriors, chunk_seconds=chunk, context_seconds=context)
    original, aligner.extract.backends.log_posteriors = aligner.extract.backends.log_posteriors, chunked
    command = ["--corpus", str(corpus), "--checkpoint", str(checkpoint), "--method", method, "--out-dir", str(out),
               "--device", "cpu"]  # fmt: skip
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            status = extract(command)
    finally:
        aligner.extract.backends.log_posteriors = original
    assert status == 0, f"extraction failed ({status})"
    return {p.relative_to(out).with_suffix("").as_posix(): load_durations(p) for p in out.rglob("*.pt")}


def moved(reference: torch.Tensor, durations: torch.Tensor) -> tuple[float, int]:
    """Share of token boundaries at another frame, and the largest move (frames)."""
    shift = (torch.cumsum(durations, 0) - torch.cumsum(reference, 0))[:-1].abs()
    return float((shift > 0).float().mean()), int(shift.max()) if len(shift) else 0


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--source", type=Path, required=True, help="a demo-layout corpus to join utterances of")
    parser.add_argument("--seconds", type=float, nargs="+", default=[90.0, 150.0])
    parser.add_argument("--chunk", type=float, default=30.0, help="chunk_seconds (default: extraction's)")
    parser.add_argument("--context", type=float, nargs="+", default=[0.5, 1.0, 2.0, 4.0])
    parser.add_argument("--out", type=Path, default=WORK / "chunking")
    args = parser.parse_args()
    corpus = args.out / "corpus"
    rel_paths = build_long_corpus(args.source, corpus, args.seconds)
    model, extractor = load_aligner(args.checkpoint)
    hop, _ = frame_geometry(model)
    layers, norm = model.config.num_hidden_layers, model.config.feat_extract_norm
    print(f"{layers} transformer layers, feature encoder norm {norm}; chunks of {args.chunk:g} s; against one pass")
    audios = {}
    for utterance in read_metadata(corpus):
        audio, rate = sf.read(utterance.wav, dtype="float32")
        audios[utterance.rel_path] = model_input(audio, rate, extractor)
    reference = {k: log_posteriors(model, extractor, [a], UNCHUNKED)[0] for k, a in audios.items()}
    print(f"| {args.checkpoint}, context | utterance | near chunk edges: mean abs d log p | best symbol differs | "
          "elsewhere: mean abs d log p | best symbol differs | mel: boundaries moved | largest | acoustic: "
          "boundaries moved | largest |")  # fmt: skip
    print("|---" * 10 + "|")
    with tempfile.TemporaryDirectory() as folder:
        unchunked = {m: durations_of(corpus, args.checkpoint, m, UNCHUNKED, 0, Path(folder) / f"{m}-whole")
                     for m in ("mel", "acoustic")}  # fmt: skip
        for context in args.context:
            chunk_frames = round(args.chunk * extractor.sampling_rate / hop)
            context_frames = round(context * extractor.sampling_rate / hop)
            durations = {
                m: durations_of(corpus, args.checkpoint, m, args.chunk, context, Path(folder) / f"{m}-{context}")
                for m in ("mel", "acoustic")
            }
            for rel_path in rel_paths:
                chunked = log_posteriors(model, extractor, [audios[rel_path]], args.chunk, context)[0]
                edge = edge_frames(len(chunked), chunk_frames, context_frames)
                near, near_share, other, other_share = posterior_figures(reference[rel_path], chunked, edge)
                cells = [
                    f"{context:g} s",
                    rel_path,
                    f"{near:.3f}",
                    f"{near_share:.2%}",
                    f"{other:.3f}",
                    f"{other_share:.2%}",
                ]
                for method in ("mel", "acoustic"):
                    share, largest = moved(unchunked[method][rel_path], durations[method][rel_path])
                    cells += [f"{share:.2%}", f"{largest} frames"]
                print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
