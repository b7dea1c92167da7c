"""espeak-ng speech synthesis with phoneme and word events, through the C API (ctypes).

The library and its data come from the ``espeakng-loader`` wheel (no system espeak). The library keeps
all of its state in globals, so every :class:`EspeakSynth` loads its own private copy of the shared
object (copied to a temporary directory, as phonemizer does): two instances never share state, a new
instance always starts from the same fresh state (which keeps synthesis reproducible), and phonemizer's
own copies in the same process are untouched.

Synthesis runs in ``AUDIO_OUTPUT_SYNCHRONOUS`` mode with ``espeakINITIALIZE_PHONEME_EVENTS`` and
``espeakINITIALIZE_PHONEME_IPA``: the callback receives the 16-bit samples (22050 Hz) and, per buffer, a
list of :class:`Event` whose ``sample`` field is the absolute sample index (from the start of the
utterance) at which the event happens. Phoneme events carry the IPA name of the phone (at most 8 UTF-8
bytes, not always zero-terminated); word events carry the 1-based *character* (not byte) position of
the word in the text and its length in characters.

Every call into the library is checked: a failure raises :class:`EspeakError` (a ``RuntimeError``).
Language codes are mapped to voice names (:data:`VOICE_NAMES`), and :meth:`EspeakSynth.set_voice`
verifies with ``espeak_GetCurrentVoice`` that the voice really changed, because an unknown name can
leave the previous voice in place.
"""

from __future__ import annotations

import ctypes
import shutil
import tempfile
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# espeak_AUDIO_OUTPUT
AUDIO_OUTPUT_SYNCHRONOUS = 2
# espeak_Initialize options
espeakINITIALIZE_PHONEME_EVENTS = 0x0001
espeakINITIALIZE_PHONEME_IPA = 0x0002
espeakINITIALIZE_DONT_EXIT = 0x8000
# espeak_Synth flags: plain UTF-8 text. espeakPHONEMES (0x100) would read [[...]] as Kirshenbaum
# phoneme codes and espeakSSML (0x10) would read <...> as markup; neither is wanted for plain text.
espeakCHARS_UTF8 = 1
espeakENDPAUSE = 0x1000
POS_CHARACTER = 1
# espeak_PARAMETER
espeakRATE = 1
espeakVOLUME = 2
espeakPITCH = 3
espeakRANGE = 4
# espeak_EVENT_TYPE
EVENT_LIST_TERMINATED = 0
EVENT_WORD = 1
EVENT_SENTENCE = 2
EVENT_MARK = 3
EVENT_PLAY = 4
EVENT_END = 5
EVENT_MSG_TERMINATED = 6
EVENT_PHONEME = 7
EVENT_SAMPLERATE = 8
# espeak_ERROR
EE_OK = 0

#: Language code -> espeak voice name (the file name under espeak-ng-data/lang). Codes that are not
#: listed are passed through unchanged (and still verified).
VOICE_NAMES: dict[str, str] = {
    "en-us": "en-us",
    "en": "en",
    "en-gb": "en",
    "fr-fr": "fr",
    "fr": "fr",
    "de": "de",
    "es": "es",
}

#: Language code -> the first language espeak reports for that voice (what set_voice verifies).
VOICE_LANGUAGES: dict[str, str] = {
    "en-us": "en-us",
    "en": "en-gb",
    "en-gb": "en-gb",
    "fr-fr": "fr-fr",
    "fr": "fr-fr",
    "de": "de",
    "es": "es",
}


class EspeakError(RuntimeError):
    """A call into the espeak-ng library failed."""


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    """``espeak_EVENT`` exactly as in speak_lib.h (API revision 12)."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


class _Voice(ctypes.Structure):
    """``espeak_VOICE`` exactly as in speak_lib.h."""

    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_char_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


@dataclass(frozen=True)
class Event:
    """One espeak event: ``kind`` is an ``EVENT_*`` code; ``sample`` is at the native rate."""

    kind: int
    sample: int
    text_position: int = 0
    length: int = 0
    name: str = ""
    number: int = 0


@dataclass
class Synthesis:
    """The result of one synthesis: int16 samples at ``sample_rate`` and the events in order."""

    samples: np.ndarray
    sample_rate: int
    events: list[Event] = field(default_factory=list)

    def of_kind(self, kind: int) -> list[Event]:
        """Events of one kind (``EVENT_PHONEME``, ``EVENT_WORD``, ...), in order."""
        return [e for e in self.events if e.kind == kind]


def _phoneme_name(raw: bytes) -> str:
    """Decode an ``id.string`` (8 bytes, zero-terminated unless full)."""
    return raw.split(b"\0", 1)[0].decode("utf-8", errors="replace")


def _convert_event(ev: _Event) -> Event:
    if ev.type == EVENT_PHONEME:
        raw = ctypes.string_at(ctypes.addressof(ev) + _Event.id.offset, 8)
        return Event(ev.type, ev.sample, ev.text_position, ev.length, name=_phoneme_name(raw))
    if ev.type in (EVENT_MARK, EVENT_PLAY):
        name = ev.id.name.decode("utf-8", errors="replace") if ev.id.name else ""
        return Event(ev.type, ev.sample, ev.text_position, ev.length, name=name)
    return Event(ev.type, ev.sample, ev.text_position, ev.length, number=ev.id.number)


def _private_library_copy() -> tuple[Path, Path]:
    """Copy the wheel's libespeak-ng to a fresh temporary directory; return (library, tempdir)."""
    import espeakng_loader

    src = Path(espeakng_loader.get_library_path()).resolve()
    tmp = Path(tempfile.mkdtemp(prefix="espeak_synth_"))
    dst = tmp / src.name
    shutil.copy(src, dst)
    return dst, tmp


class EspeakSynth:
    """A private, initialised espeak-ng instance that synthesises text with phone and word events."""

    def __init__(self, data_path: str | None = None, buffer_ms: int = 100) -> None:
        import espeakng_loader

        lib_path, tmp = _private_library_copy()
        weakref.finalize(self, shutil.rmtree, tmp, True)
        self._lib = ctypes.CDLL(str(lib_path))
        self._declare()
        data = (data_path or espeakng_loader.get_data_path()).encode()
        options = espeakINITIALIZE_PHONEME_EVENTS | espeakINITIALIZE_PHONEME_IPA | espeakINITIALIZE_DONT_EXIT
        rate = self._lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, buffer_ms, data, options)
        if rate <= 0:
            raise EspeakError(f"espeak_Initialize failed (returned {rate}) with data path {data!r}")
        self.sample_rate: int = rate
        self._chunks: list[np.ndarray] = []
        self._events: list[Event] = []
        self._error: BaseException | None = None
        self._callback = _SynthCallback(self._on_audio)  # keep a reference: espeak holds the pointer
        self._lib.espeak_SetSynthCallback(self._callback)
        self.language: str | None = None

    def _declare(self) -> None:
        lib = self._lib
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_GetCurrentVoice.argtypes = []
        lib.espeak_GetCurrentVoice.restype = ctypes.POINTER(_Voice)
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_GetParameter.argtypes = [ctypes.c_int, ctypes.c_int]
        lib.espeak_GetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.POINTER(ctypes.c_uint),
            ctypes.c_void_p,
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synchronize.argtypes = []
        lib.espeak_Synchronize.restype = ctypes.c_int

    def _on_audio(self, wav, n: int, events) -> int:
        try:
            if wav and n > 0:
                self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
            i = 0
            while events[i].type != EVENT_LIST_TERMINATED:
                self._events.append(_convert_event(events[i]))
                i += 1
        except BaseException as err:  # an exception cannot cross the C callback: keep it, abort synthesis
            self._error = err
            return 1
        return 0

    @staticmethod
    def _check(rc: int, what: str) -> None:
        if rc != EE_OK:
            raise EspeakError(f"{what} failed with espeak error {rc}")

    def current_voice(self) -> tuple[str, str]:
        """(name, language) of the voice espeak reports as current."""
        v = self._lib.espeak_GetCurrentVoice()
        if not v:
            return "", ""
        name = v.contents.name.decode() if v.contents.name else ""
        # "languages" is a priority byte followed by the language name (see speak_lib.h)
        raw = v.contents.languages or b""
        lang = raw.lstrip(bytes(range(32))).decode(errors="replace")
        return name, lang

    def set_voice(self, language: str, variant: str | None = None) -> None:
        """Select the voice of ``language`` (optionally an espeak variant such as ``"f2"``) and verify it."""
        name = VOICE_NAMES.get(language, language)
        full = f"{name}+{variant}" if variant else name
        self._check(self._lib.espeak_SetVoiceByName(full.encode()), f"espeak_SetVoiceByName({full!r})")
        expected = VOICE_LANGUAGES.get(language, language).lower()
        _, got = self.current_voice()
        if got.lower() != expected:
            raise EspeakError(
                f"voice {full!r} for language {language!r} did not take effect: "
                f"espeak reports language {got!r}, expected {expected!r}"
            )
        self.language = language

    def set_parameter(self, parameter: int, value: int) -> None:
        """``espeak_SetParameter(parameter, value, 0)``, checked (and read back)."""
        self._check(self._lib.espeak_SetParameter(parameter, value, 0), f"espeak_SetParameter({parameter}, {value})")
        got = self._lib.espeak_GetParameter(parameter, 1)
        if got != value:
            raise EspeakError(f"espeak parameter {parameter} is {got} after setting it to {value}")

    def set_prosody(self, rate: int, pitch: int, pitch_range: int) -> None:
        """Speaking rate (words per minute, 80–450), base pitch (0–100) and pitch range (0–100)."""
        self.set_parameter(espeakRATE, rate)
        self.set_parameter(espeakPITCH, pitch)
        self.set_parameter(espeakRANGE, pitch_range)

    def synth(self, text: str) -> Synthesis:
        """Synthesise plain UTF-8 ``text`` with the current voice; return samples and events."""
        if self.language is None:
            raise EspeakError("no voice selected: call set_voice() first")
        self._chunks, self._events, self._error = [], [], None
        data = text.encode("utf-8") + b"\0"
        buf = ctypes.create_string_buffer(data, len(data))
        uid = ctypes.c_uint(0)
        rc = self._lib.espeak_Synth(buf, len(data), 0, POS_CHARACTER, 0, espeakCHARS_UTF8, ctypes.byref(uid), None)
        if self._error is not None:
            raise EspeakError(f"synthesis callback failed: {self._error!r}") from self._error
        self._check(rc, "espeak_Synth")
        self._check(self._lib.espeak_Synchronize(), "espeak_Synchronize")
        samples = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        return Synthesis(samples.astype(np.int16, copy=False), self.sample_rate, list(self._events))
