"""Tests for aligner.text: upstream symbol table, espeak phonemisation, ids and add_blank."""

import re

import pytest

import aligner.text as T
from aligner.text.phonemize import foreign_letters, voice_scripts
from aligner.text.symbols import EXTRA_SYMBOLS, UPSTREAM_SYMBOLS

# Upstream Matcha-TTS matcha/text/symbols.py, written out independently of aligner/text/symbols.py.
EXPECTED_PUNCTUATION = [";", ":", ",", ".", "!", "?", "\u00a1", "\u00bf", "\u2014", "\u2026", '"', "\u00ab",
                        "\u00bb", "\u201c", "\u201d", " "]  # fmt: skip
EXPECTED_IPA = (
    "\u0251\u0250\u0252\u00e6\u0253\u0299\u03b2\u0254\u0255\u00e7\u0257\u0256"
    "\u00f0\u02a4\u0259\u0258\u025a\u025b\u025c\u025d\u025e\u025f\u0284\u0261"
    "\u0260\u0262\u029b\u0266\u0267\u0127\u0265\u029c\u0268\u026a\u029d\u026d"
    "\u026c\u026b\u026e\u029f\u0271\u026f\u0270\u014b\u0273\u0272\u0274\u00f8"
    "\u0275\u0278\u03b8\u0153\u0276\u0298\u0279\u027a\u027e\u027b\u0280\u0281"
    "\u027d\u0282\u0283\u0288\u02a7\u0289\u028a\u028b\u2c71\u028c\u0263\u0264"
    "\u028d\u03c7\u028e\u028f\u0291\u0290\u0292\u0294\u02a1\u0295\u02a2\u01c0"
    "\u01c1\u01c2\u01c3\u02c8\u02cc\u02d0\u02d1\u02bc\u02b4\u02b0\u02b1\u02b2"
    "\u02b7\u02e0\u02e4\u02de\u2193\u2191\u2192\u2197\u2198'\u0329'"
    "\u1d7b"
)
# espeak's nasal tilde and clitic mark, then the 15 symbols of a Matcha fork's table (faltiska/Matcha-TTS-24k)
# that upstream's lacks
EXPECTED_EXTRAS = ["\u0303", "-", *"()[]/", "\u203f", *"˥˦˧˨˩", "ⁿ", "ˡ", "\u032f", "\u031a"]

SENTENCES = {
    "en-us": ["Hello, world! This is a test.", "Could you pass me the butter; the croissant too?"],
    "en-gb": ["The quick brown fox jumps over the lazy dog.", "Schedule a meeting at half past nine."],
    "fr-fr": ["Un bon vin blanc, s'il vous plaît !", "« Bonjour », dit-il ; le chat dort sur le canapé."],
    "de": ["Die Straße war nach dem Regen sehr nass.", "Das Restaurant öffnet um sechs Uhr – schön!"],
    "es": ["¿Dónde está la estación de tren?", "¡Qué sorpresa! Mañana vamos a la playa con los niños."],
}


def test_upstream_table_exact():
    expected = ["_", *EXPECTED_PUNCTUATION, *"ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                *"abcdefghijklmnopqrstuvwxyz", *EXPECTED_IPA]  # fmt: skip
    assert len(expected) == 178 == T.N_UPSTREAM_SYMBOLS
    assert UPSTREAM_SYMBOLS == expected
    assert T.symbols[:178] == expected
    assert T.symbols[16] == " " and T.SPACE_ID == 16 and T.BLANK_ID == 0
    assert T.symbols[174] == T.symbols[176] == "'" and T.symbols[175] == "\u0329"


def test_apostrophe_maps_to_176():
    assert T.symbol_to_id["'"] == 176
    assert 174 not in T.symbol_to_id.values()
    assert T.phonemes_to_ids("'") == [176]


def test_extras_appended_and_unique():
    assert EXTRA_SYMBOLS == EXPECTED_EXTRAS
    assert T.symbols[178:] == EXPECTED_EXTRAS
    assert not set(EXPECTED_EXTRAS) & set(T.symbols[:178])
    assert len(set(T.symbols)) == len(T.symbols) - 1  # only the upstream apostrophe is repeated
    for i, s in enumerate(T.symbols[178:], start=178):
        assert T.symbol_to_id[s] == i


def test_english_matches_english_cleaners2():
    # espeak-ng en-us, punctuation kept in place, stress marks present, as upstream english_cleaners2.
    assert T.to_phonemes("Hello, world! This is a test.", "en-us") == "həlˈoʊ, wˈɜːld! ðɪs ɪz ɐ tˈɛst."
    # upstream also folds to ASCII, lowercases and expands abbreviations for English
    assert T.to_phonemes("Dr. SMITH’s   café", "en-us") == "dˈɑːktɚ smˈɪθz kˈæfeɪ"
    assert T.to_phonemes("(Hello)  [world]", "en-us") == "həlˈoʊ wˈɜːld"
    assert T.to_phonemes("", "en-us") == "" and T.to_phonemes("  ", "de") == ""


@pytest.mark.parametrize("language", list(SENTENCES))
def test_languages_phonemise_into_table(language):
    for text, ipa in zip(SENTENCES[language], T.to_phonemes_batch(SENTENCES[language], language), strict=True):
        assert ipa and ipa == ipa.strip() and "  " not in ipa
        assert "ˈ" in ipa
        ids, ipa2 = T.text_to_sequence(text, language)
        assert ipa2 == ipa and all(0 <= i < len(T.symbols) for i in ids)
        assert T.sequence_to_text(ids) == ipa


def test_french_nasal_uses_appended_tilde():
    ipa = T.to_phonemes("un bon vin blanc", "fr-fr")
    assert "\u0303" in ipa
    assert 178 in T.phonemes_to_ids(ipa)


def test_batch_equals_one_by_one():
    texts = [*SENTENCES["en-us"], "", "Mr. Jones said: “no”.", *SENTENCES["en-gb"]]
    assert T.to_phonemes_batch(texts, "en-us") == [T.to_phonemes(t, "en-us") for t in texts]
    assert T.to_phonemes_batch([], "de") == []


def test_unknown_symbol_error():
    with pytest.raises(T.UnknownSymbolError) as err:
        T.phonemes_to_ids("abʘ\u0361x", text="source words")
    msg = str(err.value)
    assert "'\u0361'" in msg and "U+0361" in msg and "position 3" in msg
    assert "abʘ\u0361x" in msg and "source words" in msg
    assert isinstance(err.value, ValueError) and not isinstance(err.value, KeyError)


def test_intersperse():
    assert T.intersperse([]) == [0]
    assert T.intersperse([5, 6, 7]) == [0, 5, 0, 6, 0, 7, 0]
    assert T.intersperse([1, 2], item=9) == [9, 1, 9, 2, 9]
    ids, ipa = T.text_to_sequence("Hi there!", "en-us")
    plain, _ = T.text_to_sequence("Hi there!", "en-us", add_blank=False)
    assert len(ids) == 2 * len(ipa) + 1 and ids[1::2] == plain and set(ids[0::2]) == {0}


def test_unknown_language():
    with pytest.raises(ValueError, match="xx-klingon"):
        T.to_phonemes("hello", "xx-klingon")


def test_language_mapping_and_backend_reuse():
    assert T.resolve_language("fr") == "fr-fr"
    assert T.resolve_language("EN_us") == "en-us"
    assert T.resolve_language("es-ES") == "es"
    assert T.get_backend("en-us") is T.get_backend("en-us")
    assert T.get_backend("fr") is T.get_backend("fr-fr")
    assert T.get_backend("de") is not T.get_backend("es")


# What upstream Matcha's english_cleaners2 does (matcha-tts 0.0.7.2, matcha/text/cleaners.py), step by
# step, with its own espeak settings: the oracle our English phonemes must equal.
# (the abbreviations of its list that the texts below use)
UPSTREAM_ABBREVIATIONS = [("mrs", "misess"), ("mr", "mister"), ("dr", "doctor"), ("st", "saint"), ("co", "company")]


def upstream_english_cleaners2(text: str) -> str:
    from phonemizer.backend import EspeakBackend
    from unidecode import unidecode

    text = unidecode(text).lower()
    for abbreviation, full in UPSTREAM_ABBREVIATIONS:
        text = re.sub(rf"\b{abbreviation}\.", full, text, flags=re.IGNORECASE)
    backend = EspeakBackend("en-us", preserve_punctuation=True, with_stress=True, language_switch="remove-flags")
    phonemes = backend.phonemize([text], strip=True, njobs=1)[0]
    return re.sub(r"\s+", " ", re.sub(r"[\[\]\(\)\{\}]", "", phonemes))


ENGLISH_AS_UPSTREAM = [
    "Please press 1 to continue.",
    "Mr. Jones said: “no”.",
    "  Hello,   world!  ",  # upstream keeps a space after the "!": so do we
    "Hi ( there ) ",
    "It costs $20 (twenty dollars) at St. Mary's.",
    "Café au lait, naïve coöperation.",
    "Caf\u0065\u0301 written with a combining accent.",
]


@pytest.mark.parametrize("text", ENGLISH_AS_UPSTREAM)
def test_english_is_upstream_english_cleaners2(text):
    assert T.to_phonemes(text, "en-us") == upstream_english_cleaners2(text)


SPLIT_NUMBER = "In 1984 he paid $2,022 for 3.5 kg."


def test_a_text_espeak_splits_fails_alone_in_its_batch():
    # phonemizer returns two pieces for this text; upstream keeps the first and drops "five kg".
    assert upstream_english_cleaners2(SPLIT_NUMBER).endswith("fɔːɹ θɹˈiː.")
    texts = ["Hello world.", SPLIT_NUMBER, "Please press 1 to continue."]
    result = T.to_phonemes_batch(texts, "en-us")
    assert result[0] == "həlˈoʊ wˈɜːld." and result[2] == "plˈiːz pɹˈɛs wˈʌn tə kəntˈɪnjuː."
    assert isinstance(result[1], T.PhonemizationError)
    assert "2 sentences" in str(result[1]) and "write the numbers as words" in str(result[1])
    with pytest.raises(T.PhonemizationError, match="fˈaɪv kˌeɪdʒˈiː"):
        T.to_phonemes(SPLIT_NUMBER, "en-us")
    mixed = T.to_phonemes_multilingual([SPLIT_NUMBER, "Guten Tag."], ["en-us", "de"])
    assert isinstance(mixed[0], T.PhonemizationError) and mixed[1] == T.to_phonemes("Guten Tag.", "de")


def test_combining_accents_are_composed_first():
    composed, decomposed = "café", "cafe\u0301"
    assert T.to_phonemes(decomposed, "fr-fr") == T.to_phonemes(composed, "fr-fr") == "kafˈe"


@pytest.mark.parametrize(
    "text, language, letters",
    [
        ("hello \u0d28 world", "en-us", ["'\u0d28' (MALAYALAM LETTER NA)"]),
        ("bonjour Привет", "fr-fr", ["'П' (CYRILLIC CAPITAL LETTER PE)", "'р' (CYRILLIC SMALL LETTER ER)"]),
        ("hello κόσμε", "en-gb", ["'κ' (GREEK SMALL LETTER KAPPA)"]),
    ],
)
def test_letters_of_another_script_are_named(text, language, letters):
    with pytest.raises(T.PhonemizationError) as error:
        T.to_phonemes(text, language)
    assert all(letter in str(error.value) for letter in letters) and f"{language} voice" in str(error.value)


def test_a_voice_reads_its_own_script_and_latin():
    assert voice_scripts("en-us") == ("Latn",)
    assert voice_scripts("ru") == ("Cyrl", "Latn")
    assert voice_scripts("ja") == ("Hani", "Hira", "Kana", "Latn")
    assert T.to_phonemes("Привет, John", "ru") == "prʲivʲˈet, dʒˈɒn"
    assert foreign_letters("naïve Ærø façade", "en-us") == []


def test_the_voice_list_is_read_once_not_per_text(monkeypatch):
    """phonemizer loads a new espeak instance for every voice listing and never frees it (1.3 MB each):
    reading it per text grew extraction's memory with the corpus."""
    from phonemizer.backend import EspeakBackend

    from aligner.text import phonemize

    calls = []
    listing = EspeakBackend.supported_languages
    monkeypatch.setattr(EspeakBackend, "supported_languages", lambda: calls.append(1) or listing())
    phonemize.supported_languages.cache_clear()
    T.to_phonemes("one", "en-us")
    first = len(calls)
    for text in ("two", "three", "four", "five"):
        T.to_phonemes(text, "en-us")
    assert first >= 1 and len(calls) == first
