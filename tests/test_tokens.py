"""aligner.tokens: one step from an utterance's text to its tokens, and the cause of every failure."""

from pathlib import Path

from aligner.corpus import Utterance
from aligner.text import intersperse, symbol_to_id
from aligner.text.frontend import TABLE_LACKS, TextFrontend, builtin_frontend
from aligner.text.phonemize import OTHER_SCRIPT, SEVERAL_SENTENCES
from aligner.tokens import NO_PHONEMES, UNKNOWN_LANGUAGE, UNKNOWN_SYMBOL, TokenError, Tokens, tokenise


def utterance(rel_path: str, text: str, language: str = "en-us") -> Utterance:
    return Utterance(rel_path, 0, language, text, Path(f"wav/{rel_path}.wav"))


def test_tokens_and_the_cause_of_each_failure_in_corpus_order():
    utterances = [
        utterance("ok", "Hello world."),
        utterance("number", "In 1984 he paid $2,022 for 3.5 kg."),
        utterance("script", "Hello мир."),
        utterance("punctuation", "..."),
        utterance("language", "Hello.", "xx-zz"),
    ]
    results = tokenise(utterances, builtin_frontend())
    assert [r.utterance.rel_path for r in results] == [u.rel_path for u in utterances]
    ok = results[0]
    assert isinstance(ok, Tokens) and ok.ipa == "həlˈoʊ wˈɜːld."
    assert ok.ids == [symbol_to_id[c] for c in ok.ipa] and 0 not in ok.ids  # no blanks: each tool intersperses
    assert len(intersperse(ok.ids)) == 2 * len(ok.ipa) + 1
    causes = [r.cause for r in results[1:]]
    assert causes == [SEVERAL_SENTENCES, OTHER_SCRIPT, NO_PHONEMES, UNKNOWN_LANGUAGE]
    assert all(isinstance(r, TokenError) for r in results[1:])
    assert "numbers as words" in str(results[1]) and "unknown language 'xx-zz'" in str(results[4])


def test_a_symbol_outside_the_table_and_a_matcha_front_end_table():
    snowman = TextFrontend("fake", lambda text, language: "a☃")
    (error,) = tokenise([utterance("u", "a")], snowman)
    assert error.cause == UNKNOWN_SYMBOL and "aligner/text/symbols.py" in str(error)
    matcha = TextFrontend("matcha", lambda text, language: "ab", table={"a": 0})
    (error,) = tokenise([utterance("u", "ab")], matcha)
    assert error.cause == TABLE_LACKS and "'b'" in str(error)
    (fine,) = tokenise([utterance("u", "ab", "xx-zz")], TextFrontend("matcha", lambda text, language: "ab"))
    assert fine.ipa == "ab"  # a Matcha's own front end reads languages its own way
