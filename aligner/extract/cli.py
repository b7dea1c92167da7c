"""Extract phoneme durations for Matcha-TTS training with a Wav2Vec2 CTC aligner.

    python -m matcha.utils.extract_durations --corpus CORPUS [--device cuda]
    python -m matcha.utils.extract_durations --data-config configs/data/X.yaml    (a Matcha's data YAML)
    python -m matcha.utils.extract_durations --data-config configs/data/ljspeech.yaml  (upstream's, from its root)
    accelerate launch -m matcha.utils.extract_durations --corpus CORPUS    (corpus split between processes)

For every utterance of the corpus's filelists (every CORPUS/*.csv, lines rel_path|spk|language|text, or a
data YAML's filelists, upstream Matcha's wav_path|text and wav_path|spk|text too; the layout is below): the
text becomes the installed Matcha's tokens (its own front end: a fork's
matcha.text.to_phonemes, upstream's english_cleaners2, or the built-in espeak front end where no Matcha is
importable; the run says which) with blanks interspersed as Matcha's add_blank; the wav, at 16 kHz, becomes
CTC log-posteriors, one row per token (blanks scored by the CTC blank), laid on the Matcha's mel grid (its
hop at the corpus's rate: the data YAML's sample_rate and hop_length, else the wavs' rate and hop 256; e.g.
11.61 ms frames for upstream's LJSpeech at 22.05 kHz; the frame count T is read from the corpus's own mel,
mels/{rel_path}.npy, whatever its band count: floor(samples / hop), or samples // hop + 1 for center=True
mels; a corpus without mel files gets upstream's floor(samples / hop), as its loader computes them); the
acoustic stage (the default --method
acoustic) adds to them the scores of every mel frame under the Gaussians of each token's states (an onset
and an offset per phone, chosen by its neighbours; on an LDA of spliced frames), fitted on the training
corpus by aligner/train.py, so that phone tokens hold their phones' frames and blanks one frame except over
a pause; stress and length marks hold one frame each, their phone the rest (--annotation-marks); monotonic
alignment search (MAS; with the acoustic stage, MAS whose phones may skip a state) then gives the
durations, which are checked (one per token, each >= 1, sum = T) and written atomically to
CORPUS/durations/{rel_path}.pt (or .npy with --format npy, where a Matcha fork's loader reads them; for
upstream's filelists by default where upstream's loader reads them, <wav's grandparent>/durations/<stem>.npy).
Each utterance's result depends on it alone: the same bytes whatever --batch-size or number of processes.

Stops with exit status 2 before anything is written, naming the utterance, file or folder: a missing
mel, a symbol the aligner does not know, two utterances sharing one --format upstream-npy file, a corpus
without filelist or a rel_path in two filelists, an output folder that is not writable, a checkpoint that
is missing, incomplete, over another vocabulary or without a row for a symbol the texts use, or without
the acoustic stage --method acoustic needs.

Skips and counts an utterance, naming it and the cause (a failed row of alignment_summary.csv, listed at
the end; exit status 1), writing nothing for it: a filelist line that breaks the format (wrong field
count, bad rel_path, speaker id not an integer, not UTF-8, repeated rel_path, empty text; its rel_path
column is FILELIST.csv:LINE where the line has no usable rel_path), a language the front end does not
know, a text the front end fails on or whose tokens its own symbol table lacks, a text without phonemes,
a mel that is not 2-D or holds NaN/inf, a wav that is unreadable, truncated, not mono or at another rate
than the corpus's (the message names both rates; a data YAML whose sample_rate is not the wavs' stops the
run before anything is written), a
mel whose frame count is neither floor(samples / hop) nor samples // hop + 1, silent audio, audio too
short for its tokens. The mels are only read, never written.

Existing outputs are skipped unless --overwrite, so a killed run resumes when the same command is run
again: it removes the temporary files the killed run left and keeps its summary rows. An utterance
whose tokens changed since its durations were written (a text fixed, another front end) is redone. Two runs must
not write into the same output folder at once. Beside the durations, alignment_summary.csv scores
every utterance (mean log-posterior along the path, share of tokens squeezed to one frame, longest
token) and checks its text against its audio: transcript_score (nats; above 5 is worth a listen),
the suspect_word the audio least supports ("+WORD": speech the text lacks after WORD; "+" alone:
before the first word; empty when nothing costs) and its time, suspect_start and suspect_end
(seconds; docs/transcripts.md). The utterances above 5 are listed at the end: listen to their suspect
word, fix the text, run the same command again.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import aligner.corpus as corpus_layout
from aligner.asrcnn.align import ATTENTION_ROWS
from aligner.asrcnn.checkpoint import DEFAULT_CHECKPOINT as ASR_DEFAULT_CHECKPOINT
from aligner.asrcnn.checkpoint import DEFAULT_CONFIG as ASR_DEFAULT_CONFIG
from aligner.corpus import add_corpus_options, require_corpus
from aligner.ctc.posteriors import DEFAULT_CHECKPOINT
from aligner.extract.methods import METHODS
from aligner.extract.plan import FORMATS
from aligner.extract.run import run
from aligner.search.marks import MODES as MARK_MODES


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m matcha.utils.extract_durations",
        description=f"{__doc__}\nThe corpus layout (aligner.corpus):\n{corpus_layout.__doc__}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_corpus_options(
        parser,
        "corpus folder (*.csv filelists, wav/ or wavs/, mels/ or mel/; layout below)",
        "a Matcha data YAML (configs/data/X.yaml): its filelists (ours or upstream's), mel_dir, sample_rate, "
        "hop_length, n_spks, cleaners and add_blank, with the YAMLs its defaults: list names; its paths are read "
        "from the current folder, as Matcha does (default CORPUS: the train filelist's folder)",
        "the espeak-ng language of upstream-style filelists' texts (wav_path|text; default: the data YAML's cleaners "
        "say it, english_cleaners2 = en-us)",
    )
    parser.add_argument(
        "--text-frontend",
        help="module:function giving (text, language) -> the phoneme string Matcha trains on, one token per "
        "character, for a Matcha whose front end has another shape; 'builtin' for the built-in espeak front end "
        "(default: the importable matcha.text's, a fork's to_phonemes or upstream's english_cleaners2, else builtin)",
    )
    parser.add_argument(
        "--device", default="cuda", help="cuda (default; falls back to the CPU when absent), cpu, cuda:1, ..."
    )
    parser.add_argument(
        "--aligner",
        choices=["wav2vec2", "asrcnn"],
        default="wav2vec2",
        help="wav2vec2: our CTC aligner (default); asrcnn: StyleTTS2's ASR aligner, the baseline",
    )
    parser.add_argument(
        "--checkpoint",
        help=f"trained aligner; wav2vec2: folder or hub id (default: {DEFAULT_CHECKPOINT}, where "
        f"configs/aligner/tiny.yaml trains); asrcnn: .pth file (default: {ASR_DEFAULT_CHECKPOINT})",
    )
    parser.add_argument(
        "--asr-config", default=ASR_DEFAULT_CONFIG, help="asrcnn: its config.yml (default: %(default)s)"
    )
    parser.add_argument(
        "--asr-attention-rows",
        choices=ATTENTION_ROWS,
        default="styletts2",
        help="asrcnn: styletts2 = the decoder steps StyleTTS2 keeps (default); predicting = the steps that "
        "predict each token (see aligner/asrcnn/align.py)",
    )
    parser.add_argument("--out-dir", type=Path, help="where durations go (default: CORPUS/durations)")
    parser.add_argument(
        "--add-blank",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="intersperse blanks as Matcha's add_blank (default: on, or the data YAML's add_blank; both stages "
        "are built for it: without blanks a phone must also hold the silence around it and boundaries are worse)",
    )
    parser.add_argument(
        "--annotation-marks",
        choices=MARK_MODES,
        default="one-frame",
        help="one-frame: stress marks (ˈ ˌ), length marks (ː ˑ) and the tie bar hold one frame each and the phone "
        "they mark the rest (default); scored: they are aligned as symbols of their own (the earlier behaviour)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="redo utterances whose output exists (default: skip them)"
    )
    parser.add_argument("--batch-size", type=int, default=8, help="utterances per model call (default: 8)")
    parser.add_argument(
        "--textgrid", action="store_true", help="also write Praat TextGrids to CORPUS/textgrids/ (phones, words)"
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        help="pt: durations/{rel_path}.pt (the default for our filelists); npy: durations/{rel_path}.npy beside the "
        "filelists, where a "
        "Matcha fork's loader reads them; upstream-npy: where upstream Matcha 0.0.7's loader reads them, "
        "<wav's grandparent>/durations/<wav stem>.npy (wavs/0/0001.wav -> wavs/durations/0001.npy; the default "
        "for upstream's wav_path|text filelists)",
    )
    parser.add_argument(
        "--method",
        choices=METHODS,
        default="acoustic",
        help="acoustic: MAS over the checkpoint's acoustic scores plus its CTC scores, on the mel grid: phone "
        "tokens hold their phones' frames, blanks one frame except over a pause (default; needs the acoustic "
        "stage that aligner/train.py fits, or python -m aligner.acoustic.train); mel: MAS over the CTC scores "
        "alone on the mel grid (phone tokens get their CTC spikes, blanks the frames between); ctc: MAS on "
        "20 ms CTC frames, then to the grid; forced_align: the plain CTC baseline",
    )
    parser.add_argument(
        "--offset-ms",
        type=float,
        help="wav2vec2: time of the centre of the first CTC frame (default: the value in the checkpoint's "
        "alignment.json, set from the training corpus itself by python -m aligner.acoustic.train, else 12.5 ms)",
    )
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    require_corpus(parser, args)
    return args


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: parse the options, then run the extraction (aligner.extract.run.run)."""
    return run(parse_args(argv))
