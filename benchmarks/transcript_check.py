"""Benchmark: how well an extraction run names the utterances whose transcripts are wrong.

    python benchmarks/transcript_check.py --corpus C --checkpoint D [--n 300] [--share 0.05] [--seed 0]
                                          [--work W] [--json OUT]

Copies the first ``--n`` utterances of C's filelists into W (its wavs and mels linked, not copied) and makes
``--share`` of their transcripts wrong, the ways real TTS corpora are wrong, in equal numbers: ``swap`` (the
text of another utterance of the same language), ``replace`` (one word replaced by a word of another text),
``delete`` (one word left out: the speaker said it, the text lacks it) and ``insert`` (a word of another text
added: the text says it, the speaker did not). The corruptions are seeded and written to
W/corruptions.json, so a run can be repeated. Then one extraction run (``python -m
matcha.utils.extract_durations --checkpoint D``) over the copy, and for its ``alignment_summary.csv`` ranked
least confident first (``mean_log_prob``, the confidence the run lists), per kind: how many corrupted
utterances are among the top ``--share`` of the ranking, and their ranks. An utterance the run failed counts
as flagged (its row names why). Nothing reads C/reference/.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
from pathlib import Path

from common import WORK, write_json

from aligner.corpus import Corpus, Utterance
from aligner.extract.cli import main as extract
from aligner.extract.summary import SUMMARY_NAME, read_summary

KINDS = ("swap", "replace", "delete", "insert")


def corrupt(utterances: list[Utterance], share: float, seed: int) -> dict[str, dict]:
    """The corruptions of ``share`` of ``utterances`` (at least one of each kind), by rel_path: kind, the
    original text, the wrong one and the word concerned ("" for a swap). Reproducible from ``seed``."""
    rng = random.Random(seed)
    n = max(len(KINDS), round(share * len(utterances)))
    chosen = rng.sample(range(len(utterances)), n)
    corruptions = {}
    for position, index in enumerate(chosen):
        utterance, kind = utterances[index], KINDS[position % len(KINDS)]
        others = [u for u in utterances if u.language == utterance.language and u.text != utterance.text]
        words = utterance.text.split()
        donor = rng.choice(others).text
        word = ""
        if kind == "swap":
            text = donor
        elif kind == "delete" and len(words) > 1:
            k = rng.randrange(len(words))
            word = words.pop(k)
            text = " ".join(words)
        else:
            word = rng.choice(donor.strip(".,;:!?").split())
            k = rng.randrange(len(words))
            if kind == "replace":
                words[k] = word
            else:  # insert, or delete of a one-word text
                kind = "insert"
                words.insert(k, word)
            text = " ".join(words)
        corruptions[utterance.rel_path] = {"kind": kind, "original": utterance.text, "text": text, "word": word}
    return corruptions


def write_copy(corpus: Corpus, utterances: list[Utterance], corruptions: dict[str, dict], work: Path) -> Path:
    """A corpus in ``work/corpus`` of ``utterances`` with the corrupted texts, its wavs and mels linked."""
    root = work / "corpus"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    for folder in ("wav", "wavs", "mels", "mel"):
        if (corpus.root / folder).is_dir():
            (root / folder).symlink_to((corpus.root / folder).resolve())
    lines = [
        f"{u.rel_path}|{u.spk_id}|{u.language}|{corruptions.get(u.rel_path, {}).get('text', u.text)}\n"
        for u in utterances
    ]
    (root / "metadata.csv").write_text("".join(lines), encoding="utf-8")
    (work / "corruptions.json").write_text(json.dumps(corruptions, indent=1, ensure_ascii=False), encoding="utf-8")
    return root


def ranking(rows: list[dict]) -> list[str]:
    """rel_paths least confident first: failed rows, then ok rows by ascending mean CTC log-posterior."""
    failed = sorted(r["rel_path"] for r in rows if r["status"] != "ok")
    scored = sorted((r for r in rows if r["status"] == "ok"), key=lambda r: float(r["mean_log_prob"]))
    return failed + [r["rel_path"] for r in scored]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", required=True, type=Path, help="a corpus with its mels (e.g. data/demo)")
    parser.add_argument("--checkpoint", required=True, type=Path, help="a trained aligner (e.g. outputs/aligner/tiny)")
    parser.add_argument("--n", type=int, default=300, help="utterances of the copy (default: %(default)s)")
    parser.add_argument("--share", type=float, default=0.05, help="share made wrong (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the corruptions (default: %(default)s)")
    parser.add_argument("--work", type=Path, default=WORK / "transcript_check", help="folder of the copy")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    corpus = Corpus.open(args.corpus)
    utterances = corpus.read()[: args.n]
    corruptions = corrupt(utterances, args.share, args.seed)
    root = write_copy(corpus, utterances, corruptions, args.work)
    extract(["--corpus", str(root), "--checkpoint", str(args.checkpoint)])
    ranks = {
        rel_path: rank for rank, rel_path in enumerate(ranking(read_summary(root / "durations" / SUMMARY_NAME)), 1)
    }
    top = max(1, round(args.share * len(ranks)))
    figures: dict = {"utterances": len(ranks), "corrupted": len(corruptions), "top": top, "kinds": {}}
    print(f"\n{len(corruptions)} of {len(ranks)} transcripts made wrong; flagged = among the {top} least confident")
    print(f"{'kind':<8} {'flagged':>8}  ranks")
    for kind in KINDS:
        kind_ranks = sorted(ranks[p] for p, c in corruptions.items() if c["kind"] == kind)
        caught = sum(rank <= top for rank in kind_ranks)
        figures["kinds"][kind] = {"flagged": caught, "of": len(kind_ranks), "ranks": kind_ranks}
        print(f"{kind:<8} {caught:>3} of {len(kind_ranks):<2}  {kind_ranks}")
    if args.json:
        write_json(args.json, "transcript_check", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
