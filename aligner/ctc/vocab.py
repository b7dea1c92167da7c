"""The aligner's CTC vocabulary: Matcha's symbol table, as a Hugging Face tokenizer and processor.

Output ``i`` of the CTC head is ``aligner.text.symbols[i]``, so posteriors index directly by Matcha
token id; the CTC blank is the pad ``_`` (id 0). ``vocab.json`` maps every symbol to its Matcha id,
except id 174 (upstream's first, never produced, copy of the apostrophe: a JSON object cannot hold a
key twice), which is the tokenizer's ``<unk>``. No bos/eos token is defined and the word delimiter is
the space itself, so the tokenizer adds no token and never extends the id range beyond the head.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from transformers import Wav2Vec2CTCTokenizer, Wav2Vec2FeatureExtractor, Wav2Vec2Processor

from aligner.text import BLANK_ID, NON_PHONE_IDS, SPACE_ID, symbol_to_id, symbols

SAMPLING_RATE = 16000
UNK_TOKEN = "<unk>"
UNK_ID = 174  # upstream's shadowed duplicate apostrophe; symbol_to_id["'"] == 176
PAD_TOKEN = symbols[BLANK_ID]
WORD_DELIMITER = symbols[SPACE_ID]

assert symbols[UNK_ID] == "'" and symbol_to_id["'"] != UNK_ID


def vocab_dict() -> dict[str, int]:
    """``vocab.json`` content: symbol -> Matcha id, one entry per id (174 is ``<unk>``)."""
    return {UNK_TOKEN if i == UNK_ID else s: i for i, s in enumerate(symbols)}


def build_tokenizer() -> Wav2Vec2CTCTokenizer:
    """A ``Wav2Vec2CTCTokenizer`` whose ids are Matcha's ids (blank/pad ``_`` = 0, no bos/eos)."""
    with tempfile.TemporaryDirectory() as tmp:
        vocab_file = Path(tmp) / "vocab.json"
        vocab_file.write_text(json.dumps(vocab_dict(), ensure_ascii=False), encoding="utf-8")
        tokenizer = Wav2Vec2CTCTokenizer(
            str(vocab_file),
            unk_token=UNK_TOKEN,
            pad_token=PAD_TOKEN,
            bos_token=None,
            eos_token=None,
            word_delimiter_token=WORD_DELIMITER,
            do_lower_case=False,
        )
    if len(tokenizer) != len(symbols):  # a token added by the tokenizer would shift the head
        raise RuntimeError(f"tokenizer has {len(tokenizer)} tokens, expected {len(symbols)}")
    return tokenizer


def build_feature_extractor(return_attention_mask: bool = True) -> Wav2Vec2FeatureExtractor:
    """16 kHz mono, zero-mean unit-variance per utterance, padded with 0."""
    return Wav2Vec2FeatureExtractor(
        feature_size=1,
        sampling_rate=SAMPLING_RATE,
        padding_value=0.0,
        do_normalize=True,
        return_attention_mask=return_attention_mask,
    )


def build_processor(feature_extractor: Wav2Vec2FeatureExtractor | None = None) -> Wav2Vec2Processor:
    """Processor = ``feature_extractor`` (default :func:`build_feature_extractor`) + Matcha tokenizer."""
    return Wav2Vec2Processor(
        feature_extractor=feature_extractor or build_feature_extractor(), tokenizer=build_tokenizer()
    )


def ctc_targets(token_ids: list[int], mode: str) -> list[int]:
    """CTC targets from Matcha ids: ``all`` keeps every token, ``phones`` drops ``aligner.text.NON_PHONE_IDS``
    (space, punctuation, apostrophe, espeak's clitic mark)."""
    if mode == "all":
        return list(token_ids)
    if mode == "phones":
        return [i for i in token_ids if i not in NON_PHONE_IDS]
    raise ValueError(f"ctc_targets must be 'all' or 'phones', got {mode!r}")
