"""Symbol table: ids 0-177 exactly as upstream Matcha-TTS, then appended extras.

The first 178 entries reproduce upstream ``matcha/text/symbols.py`` (and StyleTTS2's table, whose
only difference is the pad character), so a checkpoint's ids keep their meaning. Upstream lists the
ASCII apostrophe twice (positions 174 and 176); as upstream, the later one wins in ``symbol_to_id``,
so id 174 is never produced. Symbols that espeak-ng emits for the supported non-upstream languages
are appended after id 177, never inserted.
"""

import unicodedata

_pad = "_"
_punctuation = ';:,.!?¡¿—…"«»“” '
_letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_letters_ipa = (
    "ɑɐɒæɓʙβɔɕçɗɖðʤəɘɚɛɜɝɞɟʄɡɠɢʛɦɧħɥʜɨɪʝɭɬɫɮʟɱɯɰŋɳɲɴøɵɸθœɶʘɹɺɾɻʀʁɽʂʃʈʧʉʊʋⱱʌɣɤʍχʎʏʑʐʒʔʡʕʢǀǁǂǃˈˌːˑʼʴʰʱʲʷˠˤ˞↓↑→↗↘'\u0329'ᵻ"
)

UPSTREAM_SYMBOLS: list[str] = [_pad, *_punctuation, *_letters, *_letters_ipa]
N_UPSTREAM_SYMBOLS = 178

# Appended after id 177 (append only, never reorder): symbols espeak-ng emits for en-us, en-gb, fr-fr,
# de, es that the upstream table lacks. Keep in sync with tests/test_text.py.
EXTRA_SYMBOLS: list[str] = [
    "\u0303",  # 178: combining tilde, nasal vowels (fr ɑ̃ ɛ̃ ɔ̃ œ̃; loanwords in en/de: croissant, Restaurant)
    "-",  # 179: espeak's mark after an unstressed clitic joined to the next word (fr "lə- ʃˈa")
    # 180-194: symbols of a Matcha fork's table (faltiska/Matcha-TTS-24k) that upstream's lacks
    *"()[]/",  # brackets and slash, which its front end may keep
    "\u203f",  # undertie (linking)
    *"˥˦˧˨˩",  # tone letters
    "ⁿ",  # nasal release
    "ˡ",  # lateral release
    "\u032f",  # combining inverted breve below (non-syllabic)
    "\u031a",  # combining left angle above (no audible release)
]

symbols: list[str] = UPSTREAM_SYMBOLS + EXTRA_SYMBOLS

# Dict built in order, so a repeated symbol maps to its LAST position ("'" -> 176, as upstream).
symbol_to_id: dict[str, int] = {}
for _i, _s in enumerate(symbols):
    symbol_to_id[_s] = _i
del _i, _s

BLANK_ID = 0
SPACE_ID = 16


def is_phone_symbol(symbol: str) -> bool:
    """Whether a symbol is part of a spoken phone: not whitespace, not punctuation (so stress and
    length marks are); space, punctuation and espeak's clitic mark ``-`` are not."""
    return not symbol.isspace() and unicodedata.category(symbol)[0] not in "ZP"


NON_PHONE_IDS: frozenset[int] = frozenset(i for i, s in enumerate(symbols) if i != BLANK_ID and not is_phone_symbol(s))

assert len(UPSTREAM_SYMBOLS) == N_UPSTREAM_SYMBOLS
assert symbols[SPACE_ID] == " " and symbols[BLANK_ID] == _pad
