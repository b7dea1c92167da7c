"""How Matcha tokens meet reference phones in CMU's ARPAbet (flite's truth) inside a word: the matched phones.

The tokens are espeak-ng's IPA, the truth another engine's phones, and the two may differ (espeak-ng's flap
``ɾ`` where flite says ``t``, a reduced vowel, a phone one of them leaves out). Inside each word said as one
token word from one text word (``aligner.evaluate.word_match.word_units``), the word's tokens are cut into
phones (a stress mark with the phone after it, a length mark with the one before it, the IPA of an ARPAbet
diphthong or affricate as one phone) and the reference phones inside the word's span are written in IPA
(``CMU_TO_IPA``); both sequences are compared in coarse classes (``phone_class``: length dropped, ``ʌ ə ɐ``
one class, the alveolar stops and the flap one) and matched with difflib's longest matching blocks. A matched
phone is a ``PhoneSpan`` of the reference phone's times and the token characters that say it, scored as
espeak-ng's phones are (``aligner.evaluate.score``) at the onsets and offsets that lie inside its word (a
word's own edges are the word scorer's).
"""

from __future__ import annotations

from difflib import SequenceMatcher

from aligner.evaluate.phone_match import PhoneMismatch, PhoneSpan
from aligner.evaluate.word_match import word_units
from aligner.text.frontend import TextFrontend
from aligner.words import text_words, token_word_positions, word_sources

# ARPAbet as CMUdict and flite write it, in IPA (stress digits dropped).
CMU_TO_IPA = {
    "aa": "ɑ", "ae": "æ", "ah": "ʌ", "ao": "ɔ", "aw": "aʊ", "ax": "ə", "ay": "aɪ", "eh": "ɛ", "er": "ɚ",
    "ey": "eɪ", "ih": "ɪ", "iy": "i", "ow": "oʊ", "oy": "ɔɪ", "uh": "ʊ", "uw": "u",
    "b": "b", "ch": "tʃ", "d": "d", "dh": "ð", "f": "f", "g": "ɡ", "hh": "h", "jh": "dʒ", "k": "k", "l": "l",
    "m": "m", "n": "n", "ng": "ŋ", "p": "p", "r": "ɹ", "s": "s", "sh": "ʃ", "t": "t", "th": "θ", "v": "v",
    "w": "w", "y": "j", "z": "z", "zh": "ʒ",
}  # fmt: skip
MULTI_CHARACTER = sorted({ipa for ipa in CMU_TO_IPA.values() if len(ipa) > 1}, key=len, reverse=True)
STRESS = "ˈˌ"
LENGTH = "ːˑ"
CLASSES = {"ə": "ʌ", "ɐ": "ʌ", "ɜ": "ɚ", "ᵻ": "ɪ", "ɾ": "t", "d": "t", "ɑ": "ɔ", "ɒ": "ɔ", "o": "oʊ"}


def arpabet(label: str) -> str:
    """An ARPAbet label as ``CMU_TO_IPA`` keys it: lower case, stress digit dropped ("AX0" -> "ax")."""
    return label.rstrip("012").lower()


def is_cmu(phones: list[dict]) -> bool:
    """Whether every spoken reference phone's label is an ARPAbet phone (silences labelled "")."""
    labels = [p["label"] for p in phones if p["label"]]
    return bool(labels) and all(arpabet(label) in CMU_TO_IPA for label in labels)


def phone_class(ipa: str) -> str:
    """The coarse class an IPA phone is compared in (module doc)."""
    bare = "".join(c for c in ipa if c not in STRESS + LENGTH)
    return CLASSES.get(bare, bare)


def token_phones(ipa: str, positions: list[int]) -> list[tuple[str, int, int]]:
    """The phones of one token word: (IPA, first character, last character), ``positions`` its characters in
    ``ipa``; a stress mark joins the phone after it, a length mark (and any other mark) the one before."""
    phones: list[tuple[str, int, int]] = []
    k = 0
    while k < len(positions):
        first = k
        while k < len(positions) and ipa[positions[k]] in STRESS:
            k += 1
        rest = "".join(ipa[p] for p in positions[k:])
        size = next((len(m) for m in MULTI_CHARACTER if rest.startswith(m)), 1)
        k += size
        while k < len(positions) and (ipa[positions[k]] in LENGTH or not ipa[positions[k]].isalpha()):
            k += 1
        said = "".join(ipa[p] for p in positions[first:k])
        phones.append((said, positions[first], positions[min(k, len(positions)) - 1]))
    return phones


def matched_phones(
    text: str, ipa: str, words: list[dict], phones: list[dict], frontend: TextFrontend, language: str
) -> list[tuple[PhoneSpan, bool, bool]]:
    """The matched phones of an utterance (module doc), each with whether its onset and its offset lie inside
    its word. ``words``/``phones``: the reference's ({label, start, end}, one word per ``text_words(text)``,
    else ``PhoneMismatch``)."""
    written = text_words(text)
    if [w["label"] for w in words] != written:
        raise PhoneMismatch(f"reference words {[w['label'] for w in words]} are not the text's {written}")
    runs = token_word_positions(ipa)
    spoken = [p for p in phones if p["label"] and p["end"] > p["start"]]
    matched: list[tuple[PhoneSpan, bool, bool]] = []
    for first_run, last_run, first_word, last_word in word_units(word_sources(text, ipa, frontend, language)):
        if first_run != last_run or first_word != last_word:
            continue
        word = words[first_word]
        truth = [p for p in spoken if word["start"] <= p["start"] and p["end"] <= word["end"]]
        said = token_phones(ipa, runs[first_run])
        reference = [phone_class(CMU_TO_IPA[arpabet(p["label"])]) for p in truth]
        blocks = SequenceMatcher(None, [phone_class(s) for s, _, _ in said], reference, autojunk=False)
        for a, b, size in blocks.get_matching_blocks():
            for k in range(size):
                phone, (_, first, last) = truth[b + k], said[a + k]
                span = PhoneSpan(phone["label"], phone["start"], phone["end"], first, last)
                matched.append((span, b + k > 0, b + k < len(truth) - 1))
    return matched
