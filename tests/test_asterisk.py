"""The real-speech corpus builder (aligner.demo.asterisk), on a hand-made unpacked package."""

import numpy as np
import soundfile as sf

from aligner.demo.asterisk import COPYRIGHT, VOICE, Prompt, fetch_packages, read_prompts, write_corpus

LINES = [
    "; Core Asterisk Sounds in English",
    "",
    "letters/dash: dash [-]",
    "beep: [this is a simple beep tone]",
    "silence/1: (1 second of silence)",
    'spy-iax2: IAX (note: does not say "2")',
    "digits/7: seven",
    "conf-menu: Please press 1 to mute   or unmute yourself.",
    "missing: A prompt without a wav.",
]


def test_prompts_drop_notes_and_keep_digits():
    prompts, not_speech = read_prompts(LINES)
    assert prompts == [
        Prompt("letters/dash", "dash"),
        Prompt("spy-iax2", "IAX"),
        Prompt("digits/7", "seven"),
        Prompt("conf-menu", "Please press 1 to mute or unmute yourself."),
        Prompt("missing", "A prompt without a wav."),
    ]
    assert not_speech == ["beep", "silence/1"]


def test_corpus_at_24_khz(tmp_path):
    unpacked, root = tmp_path / "unpacked", tmp_path / "corpus"
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(8000) / 8000)).astype(np.float32)  # 1 s at 8 kHz
    for key in ("letters/dash", "digits/7", "conf-menu"):
        (unpacked / VOICE / key).parent.mkdir(parents=True, exist_ok=True)
        sf.write(unpacked / VOICE / f"{key}.wav", tone, 8000, subtype="PCM_16")
    (unpacked / COPYRIGHT).parent.mkdir(parents=True)
    (unpacked / COPYRIGHT).write_text("CC-BY-SA-3.0")
    prompts, _ = read_prompts(LINES)
    assert write_corpus(root, unpacked, prompts, progress=False) == ["spy-iax2", "missing"]
    assert (root / "metadata.csv").read_text(encoding="utf-8").splitlines() == [
        "letters/dash|0|en-us|dash",
        "digits/7|0|en-us|seven",
        "conf-menu|0|en-us|Please press 1 to mute or unmute yourself.",
    ]
    audio, rate = sf.read(root / "wavs" / "digits" / "7.wav")
    assert rate == 24000 and len(audio) == 24000
    spectrum = np.abs(np.fft.rfft(audio))
    assert abs(np.argmax(spectrum) - 440) <= 1  # the same tone, 1 Hz per bin
    assert (root / "COPYRIGHT").read_text() == "CC-BY-SA-3.0"


def test_packages_already_there_are_not_fetched(tmp_path, monkeypatch):
    for name in ("asterisk-core-sounds-en_1.6.1-1_all.deb", "asterisk-core-sounds-en-wav_1.6.1-1_all.deb"):
        (tmp_path / name).write_bytes(b"")
    monkeypatch.setenv("PATH", "")  # no apt-get to call
    assert [p.name for p in fetch_packages(tmp_path)] == [
        "asterisk-core-sounds-en_1.6.1-1_all.deb",
        "asterisk-core-sounds-en-wav_1.6.1-1_all.deb",
    ]
