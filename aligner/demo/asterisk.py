"""A corpus of real recorded speech: the English prompts of the Asterisk PBX, from Debian, at 24 kHz.

    python -m aligner.demo.asterisk --out DIR [--debs FOLDER]

Debian's ``asterisk-core-sounds-en`` (the texts, ``core-sounds-en.txt.gz``, one ``key: text`` per line)
and ``asterisk-core-sounds-en-wav`` (the audio, ``en_US_f_Allison/{key}.wav``, 8 kHz 16-bit mono) hold
568 prompts read by one professional speaker, about 25 minutes. License: CC-BY-SA-3.0 (see
``DIR/COPYRIGHT``); the audio is fetched, never committed.

1. ``apt-get download`` both packages into FOLDER (default ``DIR/debs``), unless their .deb files are
   already there (copy them in on a machine without apt), and ``dpkg-deb -x`` them.
2. Texts: a note in brackets or parentheses (``dash [-]``, ``IAX (note: does not say "2")``) is not
   spoken and is dropped; a prompt left without words (``[sound of monkeys screaming]``, tones, beeps,
   ``(1 second of silence)``) is not speech and is left out, named. Digits stay as written: extraction
   spells them out or, where espeak cannot match them to the text one to one, names the utterance.
3. Audio: resampled from 8 kHz to 24 kHz with soxr (its "VHQ" quality); it holds nothing above 4 kHz.

Writes ``DIR/metadata.csv`` (``{key}|0|en-us|{text}``, rel_path = the prompt's key, e.g. ``digits/7``)
and ``DIR/wavs/{key}.wav``. There is no ``reference/``: no one knows the true boundaries; ``make real``
trains an aligner on it, extracts, and writes a report with pictures to look at.
"""

from __future__ import annotations

import argparse
import gzip
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf
import soxr
from tqdm import tqdm

from aligner.audio import TTS_SAMPLE_RATE

PACKAGES = ("asterisk-core-sounds-en", "asterisk-core-sounds-en-wav")
TEXTS = "usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz"
COPYRIGHT = "usr/share/doc/asterisk-core-sounds-en/copyright"
VOICE = "usr/share/asterisk/sounds/en_US_f_Allison"
NOTE_RE = re.compile(r"\[[^\]]*\]|\([^)]*\)")


@dataclass
class Prompt:
    """One prompt: its key (``digits/7``) and its spoken text."""

    key: str
    text: str


def fetch_packages(debs: Path) -> list[Path]:
    """The two .deb files in ``debs``, downloaded with ``apt-get download`` when not there;
    ``RuntimeError`` saying what to do when apt cannot fetch them."""
    debs.mkdir(parents=True, exist_ok=True)
    missing = [name for name in PACKAGES if not list(debs.glob(f"{name}_*.deb"))]
    if missing:
        if shutil.which("apt-get") is None:
            raise RuntimeError(f"apt-get not found: copy the .deb files of {', '.join(missing)} into {debs}")
        result = subprocess.run(["apt-get", "download", *missing], cwd=debs, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(
                f"apt-get download {' '.join(missing)} failed (exit {result.returncode}): "
                f"{result.stderr.strip()[-500:]}; copy the .deb files into {debs} instead"
            )
    return [sorted(debs.glob(f"{name}_*.deb"))[-1] for name in PACKAGES]


def unpack(packages: list[Path], target: Path) -> None:
    """``dpkg-deb -x`` every package into ``target``."""
    if shutil.which("dpkg-deb") is None:
        raise RuntimeError("dpkg-deb not found: it unpacks the .deb files (Debian/Ubuntu's dpkg)")
    for package in packages:
        subprocess.run(["dpkg-deb", "-x", str(package), str(target)], check=True)


def read_prompts(lines: list[str]) -> tuple[list[Prompt], list[str]]:
    """Prompts of the ``key: text`` lines of core-sounds-en.txt (``;`` comments and blank lines
    skipped), bracketed notes removed; and the keys left out because no word remains."""
    prompts, not_speech = [], []
    for line in lines:
        if not line.strip() or line.startswith(";"):
            continue
        key, _, text = line.partition(":")
        spoken = " ".join(NOTE_RE.sub(" ", text).split())
        if spoken:
            prompts.append(Prompt(key.strip(), spoken))
        else:
            not_speech.append(key.strip())
    return prompts, not_speech


def write_corpus(root: Path, unpacked: Path, prompts: list[Prompt], progress: bool = True) -> list[str]:
    """Write metadata.csv and 24 kHz wavs of every prompt that has a wav; returns the keys without one."""
    voice = unpacked / VOICE
    lines, no_wav = [], []
    for prompt in tqdm(prompts, desc="resample to 24 kHz", unit="wav", disable=not progress):
        source = voice / f"{prompt.key}.wav"
        if not source.is_file():
            no_wav.append(prompt.key)
            continue
        audio, rate = sf.read(source, dtype="float32")
        target = root / "wavs" / f"{prompt.key}.wav"
        target.parent.mkdir(parents=True, exist_ok=True)
        sf.write(target, soxr.resample(audio, rate, TTS_SAMPLE_RATE, quality="VHQ"), TTS_SAMPLE_RATE, subtype="PCM_16")
        lines.append(f"{prompt.key}|0|en-us|{prompt.text}")
    (root / "metadata.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    shutil.copy(unpacked / COPYRIGHT, root / "COPYRIGHT")
    return no_wav


def build(root: Path, debs: Path, progress: bool = True) -> dict:
    """Fetch, unpack and write the corpus (module doc); returns counts and the keys left out."""
    packages = fetch_packages(debs)
    with tempfile.TemporaryDirectory() as folder:
        unpacked = Path(folder)
        unpack(packages, unpacked)
        with gzip.open(unpacked / TEXTS, "rt", encoding="utf-8") as handle:
            prompts, not_speech = read_prompts(handle.read().splitlines())
        no_wav = write_corpus(root, unpacked, prompts, progress)
    return {"utterances": len(prompts) - len(no_wav), "not_speech": not_speech, "no_wav": no_wav}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m aligner.demo.asterisk",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", required=True, type=Path, help="corpus folder to write (metadata.csv, wavs/)")
    parser.add_argument("--debs", type=Path, help="where the .deb files are or go (default: OUT/debs)")
    args = parser.parse_args(argv)
    try:
        result = build(args.out, args.debs or args.out / "debs")
    except (RuntimeError, subprocess.CalledProcessError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{result['utterances']} utterances -> {args.out / 'metadata.csv'}")
    print(f"left out, not speech ({len(result['not_speech'])}): {' '.join(result['not_speech'])}")
    if result["no_wav"]:
        print(f"left out, no wav ({len(result['no_wav'])}): {' '.join(result['no_wav'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
