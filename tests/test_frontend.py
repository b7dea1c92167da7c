"""aligner.text.frontend: the installed Matcha's front end decides the tokens."""

import subprocess
import sys

import pytest
from fork_corpus import copy_fork

from aligner.text import to_phonemes
from aligner.text.frontend import BUILTIN, FrontendError, PhonemizationError, TextFrontend, resolve_frontend


def test_without_an_importable_matcha_text_the_builtin_front_end_is_used():
    frontend = resolve_frontend()
    assert frontend.name == BUILTIN
    assert frontend.tokens("I think so.", "en-us") == to_phonemes("I think so.", "en-us") == "ˈaɪ θˈɪŋk sˈoʊ."


def test_a_named_function_is_used_and_a_bad_name_is_a_named_error():
    frontend = resolve_frontend("aligner.text:to_phonemes")
    assert frontend.name == "aligner.text:to_phonemes"
    assert frontend.tokens("Hello.", "en-us") == "həlˈoʊ."
    with pytest.raises(FrontendError, match="expected module:function"):
        resolve_frontend("aligner.text")
    with pytest.raises(FrontendError, match="cannot import"):
        resolve_frontend("aligner.text:no_such_function")


def test_a_symbol_the_matchas_own_table_lacks_fails_that_text_naming_it():
    frontend = TextFrontend("test", lambda text, language: text, {"a": 1, "b": 2})
    assert frontend.tokens("ab", "en-us") == "ab"
    with pytest.raises(PhonemizationError, match=r"'c' \(LATIN SMALL LETTER C\)"):
        frontend.tokens("abc", "en-us")
    results = frontend.tokens_batch(["ab", "ac"], ["en-us", "en-us"])
    assert results[0] == "ab" and isinstance(results[1], PhonemizationError)


def test_a_forks_matcha_text_is_found_from_its_root_and_gives_its_own_tokens(tmp_path):
    fork = copy_fork(tmp_path / "fork")
    script = (
        "from aligner.text.frontend import resolve_frontend\n"
        "f = resolve_frontend()\n"
        "print(f.name)\n"
        "print(f.tokens('I think so \u2014 Dr. Smith', 'en-us'))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=fork, capture_output=True, text=True, check=True)
    name, tokens = result.stdout.strip().splitlines()
    assert name.startswith("matcha.text.to_phonemes") and str(fork) in name
    # the fork keeps case ("I" unstressed), turns the dash into a comma, keeps "Dr." and adds a final "."
    assert tokens == "aɪ θˈɪŋk sˈoʊ, dˈɑːktɚ. smˈɪθ."


def test_tokens_that_keep_only_the_first_of_espeaks_sentences_fail_naming_the_cause():
    """A front end that keeps phonemizer's first piece, as a fork's may: "3.5 kg" cuts the text short."""
    from aligner.text.phonemize import sentence_pieces

    first_piece = TextFrontend("first-piece", lambda text, language: sentence_pieces(text, language)[0])
    with pytest.raises(PhonemizationError, match=r"keep only part of them.*write the numbers as words"):
        first_piece.tokens("I bought 3.5 kg of apples for 12 dollars.", "en-us")
    assert first_piece.tokens("I bought apples for twelve dollars.", "en-us").endswith("dˈɑːlɚz.")
