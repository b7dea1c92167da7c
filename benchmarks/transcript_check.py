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
import time
from pathlib import Path

import torch
from common import WORK, write_json

from aligner.corpus import Corpus, Utterance
from aligner.extract.backends import Wav2Vec2Aligner
from aligner.extract.cli import main as extract
from aligner.extract.plan import plan_jobs
from aligner.extract.summary import SUMMARY_NAME, most_suspect_first, read_summary
from aligner.search.transcript import SUSPECT_THRESHOLD, check_transcript
from aligner.text.frontend import resolve_frontend
from aligner.words import text_words, words_of

KINDS = ("swap", "replace", "delete", "insert", "number")
# English number words: the ``number`` fault writes the digits of ten times the number the speaker said
NUMBER_WORDS = dict(zip("one two three four five six seven eight nine".split(), range(1, 10), strict=True))


def number_word(text: str) -> int | None:
    """The position in ``text.split()`` of its first English number word (one to nine), or None."""
    bare = [w.strip(".,;:!?").lower() for w in text.split()]
    return next((k for k, w in enumerate(bare) if w in NUMBER_WORDS), None)


def corrupt(utterances: list[Utterance], share: float, seed: int) -> dict[str, dict]:
    """The corruptions of ``share`` of ``utterances`` (at least one of each kind), by rel_path: kind, the
    original text, the wrong one and the word concerned ("" for a swap). A ``number`` fault goes to an
    utterance with a number word where one is left: the word becomes digits the front end reads otherwise
    ("three" -> "30", read "thirty"); elsewhere a word becomes a two-digit number. Reproducible from ``seed``."""
    rng = random.Random(seed)
    n = max(len(KINDS), round(share * len(utterances)))
    chosen = rng.sample(range(len(utterances)), n)
    kinds = [KINDS[position % len(KINDS)] for position in range(n)]
    with_numbers = [i for i, u in enumerate(utterances) if number_word(u.text) is not None]
    rng.shuffle(with_numbers)
    for position, kind in enumerate(kinds):  # number faults to utterances with number words first
        if kind == "number" and with_numbers:
            index = with_numbers.pop()
            if index in chosen:
                chosen[chosen.index(index)] = chosen[position]
            chosen[position] = index
    corruptions = {}
    for index, kind in zip(chosen, kinds, strict=True):
        utterance = utterances[index]
        others = [u for u in utterances if u.language == utterance.language and u.text != utterance.text]
        words = utterance.text.split()
        donor = rng.choice(others).text
        word = ""
        if kind == "swap":
            text = donor
        elif kind == "number":
            k = number_word(utterance.text)
            if k is None:
                k = rng.randrange(len(words))
                words[k] = str(rng.randrange(21, 100))
            else:
                bare = words[k].strip(".,;:!?")
                words[k] = words[k].replace(bare, str(10 * NUMBER_WORDS[bare.lower()]))
            word = words[k].strip(".,;:!?")
            text = " ".join(words)
        elif kind == "delete" and len(words) > 1:
            k = rng.randrange(len(words))
            word = words.pop(k)
            text = " ".join(words)
        else:
            k = rng.randrange(len(words))
            near = {w.strip(".,;:!?").lower() for w in words[max(0, k - 1) : k + 1]}
            choices = [w for w in donor.strip(".,;:!?").split() if w.strip(".,;:!?").lower() not in near]
            word = rng.choice(choices or ["tomorrow"])
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
    """rel_paths most suspect first: failed rows, then ok rows by descending ``transcript_score``."""
    failed = sorted(r["rel_path"] for r in rows if r["status"] != "ok")
    return failed + [r["rel_path"] for r in most_suspect_first(rows)]


def named_right(corruption: dict, text: str, suspect: str) -> bool:
    """Whether ``suspect`` (a summary's ``suspect_word``: words, or ``+WORDS`` for speech after them) names the
    corrupted word: the word itself for a replaced, added or number word; for a word the text lacks, a gap
    just where it was said or either word beside that place. Words the front end joined ("of the") count
    when one of them does."""
    words = [w.lower() for w in text_words(text)]
    named = [w.lower() for w in suspect.removeprefix("+").split()]
    if corruption["kind"] != "delete":
        return not suspect.startswith("+") and corruption["word"].strip(".,;:!?").lower() in named
    original, now = corruption["original"].split(), text.split()
    k = next((i for i, (a, b) in enumerate(zip(original, now, strict=False)) if a != b), len(now))  # where the word was
    if suspect.startswith("+"):
        return (words[k - 1] in named) if k > 0 else not named
    return bool({words[j] for j in (k - 1, k) if 0 <= j < len(words)} & set(named))


def check_seconds(root: Path, checkpoint: Path) -> float:
    """Seconds the transcript check and its word naming take over the corpus ``root``, on CTC posteriors
    computed beforehand (the time it adds to an extraction run)."""
    corpus = Corpus.open(root)
    frontend = resolve_frontend(None)
    plan = plan_jobs(corpus, frontend, None, corpus.add_blank, "pt", True)
    aligner = Wav2Vec2Aligner(checkpoint, torch.device("cpu"), corpus.sample_rate, corpus.hop_length, "mel")
    seconds = 0.0
    for first in range(0, len(plan.jobs), 8):
        jobs = plan.jobs[first : first + 8]
        log_probs = aligner.posteriors([aligner.read_audio(job.wav) for job in jobs])
        start = time.perf_counter()
        offsets = aligner.offsets([job.centred for job in jobs])
        for job, lp, offset in zip(jobs, log_probs, offsets, strict=True):
            audio = job.n_frames * corpus.frame_seconds
            check = check_transcript(lp, job.token_ids, aligner.pauses_as_blank, offset, audio)
            if check.word is not None:  # as the summary names a suspect
                words_of(job.text, job.ipa, frontend, job.language, check.word)
        seconds += time.perf_counter() - start
    return seconds


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
    start = time.perf_counter()
    extract(["--corpus", str(root), "--checkpoint", str(args.checkpoint)])
    extraction = time.perf_counter() - start
    check = check_seconds(root, args.checkpoint)
    rows = {row["rel_path"]: row for row in read_summary(root / "durations" / SUMMARY_NAME)}
    ranks = {rel_path: rank for rank, rel_path in enumerate(ranking(list(rows.values())), 1)}
    top = max(1, round(args.share * len(ranks)))
    above = {p for p, r in rows.items() if r["status"] != "ok" or float(r["transcript_score"]) > SUSPECT_THRESHOLD}
    figures: dict = {
        "corpus": str(args.corpus),
        "checkpoint": str(args.checkpoint),
        "utterances": len(ranks),
        "corrupted": len(corruptions),
        "top": top,
        "recall_at_top": sum(ranks[p] <= top for p in corruptions) / len(corruptions),
        "precision_at_top": sum(ranks[p] <= top for p in corruptions) / top,
        "threshold": SUSPECT_THRESHOLD,
        "corrupted_above_threshold": len(above & set(corruptions)),
        "clean_above_threshold": len(above - set(corruptions)),
        "extraction_seconds": round(extraction, 1),
        "check_seconds": round(check, 2),
        "kinds": {},
    }
    print(f"\n{len(corruptions)} of {len(ranks)} transcripts made wrong; flagged = among the {top} of highest "
          f"transcript_score; named = suspect_word names the corrupted word")  # fmt: skip
    print(f"{'kind':<8} {'flagged':>9} {'named':>8}  ranks")
    for kind in KINDS:
        paths = sorted((p for p, c in corruptions.items() if c["kind"] == kind), key=ranks.get)
        caught = sum(ranks[p] <= top for p in paths)
        ok = [p for p in paths if rows[p]["status"] == "ok"]
        named = sum(named_right(corruptions[p], corruptions[p]["text"], rows[p]["suspect_word"]) for p in ok)
        figures["kinds"][kind] = {
            "flagged": caught, "of": len(paths), "named": named if kind != "swap" else None,
            "ranks": [ranks[p] for p in paths],
        }  # fmt: skip
        shown = f"{named} of {len(ok)}" if kind != "swap" else "-"
        print(f"{kind:<8} {caught:>3} of {len(paths):<3} {shown:>8}  {[ranks[p] for p in paths]}")
    print(f"recall at the top {top}: {figures['recall_at_top']:.0%}, precision {figures['precision_at_top']:.0%}; "
          f"above the threshold {SUSPECT_THRESHOLD:g}: {figures['corrupted_above_threshold']} corrupted, "
          f"{figures['clean_above_threshold']} clean")  # fmt: skip
    print(f"time: extraction {extraction:.1f} s, of which the transcript check {check:.2f} s "
          f"({100 * check / max(extraction - check, 1e-9):.1f} % added)")  # fmt: skip
    if args.json:
        write_json(args.json, "transcript_check", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
