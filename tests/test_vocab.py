"""The aligner's CTC vocabulary: tokenizer ids are Matcha ids, no token beyond the head."""

import json

import pytest
from transformers import Wav2Vec2Processor

from aligner.ctc.vocab import UNK_ID, build_processor, build_tokenizer, ctc_targets, vocab_dict
from aligner.text import BLANK_ID, SPACE_ID, phonemes_to_ids, symbol_to_id, symbols, to_phonemes


def test_every_symbol_has_its_matcha_id():
    tokenizer = build_tokenizer()
    assert len(tokenizer) == tokenizer.vocab_size == len(symbols)
    for symbol in symbols:
        assert tokenizer.convert_tokens_to_ids(symbol) == symbol_to_id[symbol], symbol
    for i, symbol in enumerate(symbols):
        expected = "<unk>" if i == UNK_ID else symbol
        assert tokenizer.convert_ids_to_tokens(i) == expected


def test_special_tokens_do_not_extend_or_shift_ids():
    tokenizer = build_tokenizer()
    assert tokenizer.pad_token == "_" and tokenizer.pad_token_id == BLANK_ID == 0
    assert tokenizer.bos_token is None and tokenizer.eos_token is None
    assert tokenizer.unk_token_id == UNK_ID == 174 and symbol_to_id["'"] == 176
    assert tokenizer.word_delimiter_token_id == SPACE_ID
    assert max(tokenizer.get_vocab().values()) == len(symbols) - 1
    assert sorted(vocab_dict().values()) == list(range(len(symbols)))


@pytest.mark.parametrize(
    ("text", "language"), [("Hello, world! How are you?", "en-us"), ("Un bon vin blanc, s'il vous plaît !", "fr-fr")]
)
def test_encoding_equals_matcha_ids_and_decodes_back(text, language):
    tokenizer = build_tokenizer()
    ipa = to_phonemes(text, language)
    ids = tokenizer(ipa).input_ids
    assert ids == phonemes_to_ids(ipa)
    assert tokenizer.decode(ids, group_tokens=False) == ipa


def test_ctc_decoding_merges_repeats_and_drops_blank():
    tokenizer = build_tokenizer()
    a, b = symbol_to_id["a"], symbol_to_id["b"]
    assert tokenizer.decode([0, a, a, 0, a, b, b, 0, SPACE_ID, b]) == "aab b"


def test_processor_round_trip(tmp_path):
    build_processor().save_pretrained(tmp_path)
    assert "<unk>" in json.loads((tmp_path / "vocab.json").read_text(encoding="utf-8"))
    processor = Wav2Vec2Processor.from_pretrained(tmp_path)
    assert processor.feature_extractor.sampling_rate == 16000
    assert processor.feature_extractor.do_normalize
    tokenizer = processor.tokenizer
    assert len(tokenizer) == len(symbols) and tokenizer.pad_token_id == 0
    assert all(tokenizer.convert_tokens_to_ids(s) == symbol_to_id[s] for s in symbols)


def test_ctc_targets_modes():
    ids = phonemes_to_ids("hˈɛloʊ, wˈɜːld!")
    assert ctc_targets(ids, "all") == ids
    phones = ctc_targets(ids, "phones")
    assert phones == [i for i in ids if symbols[i] not in " ,!"]
    assert all(symbols[i] not in ";:,.!?¡¿—…\"«»“” -'" for i in phones)
    with pytest.raises(ValueError, match="ctc_targets"):
        ctc_targets(ids, "words")
