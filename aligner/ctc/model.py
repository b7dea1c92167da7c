"""Build the CTC model: a Wav2Vec2ForCTC whose head has one output per Matcha symbol.

From scratch (``model_name_or_path`` unset) the model is a ``Wav2Vec2Config`` built from
``model_config``. From a pretrained model (hub id or local folder) the encoder is loaded with
``model_config`` as config overrides and the CTC head is replaced by a fresh one over Matcha's
symbols; with ``head_transfer`` the rows of symbols that the pretrained model's own ``vocab.json``
also holds (its blank for ``_``, its word delimiter for the space) start from its head.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2ForCTC
from transformers.utils import cached_file

from aligner.ctc.label_prior import prior_ctc_loss
from aligner.ctc.vocab import SAMPLING_RATE, build_feature_extractor, vocab_dict
from aligner.text import BLANK_ID, SPACE_ID, symbols

logger = logging.getLogger(__name__)

# The CTC head's contract, written into every model config.
CTC_CONFIG = {
    "vocab_size": len(symbols),
    "pad_token_id": BLANK_ID,
    "bos_token_id": None,
    "eos_token_id": None,
    "ctc_loss_reduction": "mean",
    "ctc_zero_infinity": True,
}


@dataclass
class ModelArguments:
    """Model to train."""

    model_name_or_path: str | None = field(
        default=None, metadata={"help": "pretrained Wav2Vec2 (hub id or folder); unset: from scratch"}
    )
    model_config: dict[str, Any] = field(
        default_factory=dict,
        metadata={"help": "Wav2Vec2Config fields (from scratch) or overrides of the pretrained config"},
    )
    head_transfer: bool = field(
        default=False, metadata={"help": "start head rows of shared symbols from the pretrained CTC head"}
    )
    freeze_feature_encoder: bool = field(default=False, metadata={"help": "do not train the convolutional encoder"})
    gradient_checkpointing: bool = field(default=False, metadata={"help": "trade compute for memory"})

    def __post_init__(self) -> None:
        known = {f.name for f in dataclasses.fields(Wav2Vec2Config)}
        unknown = sorted(set(self.model_config) - known)
        if unknown:
            raise ValueError(f"model_config: unknown Wav2Vec2Config fields {unknown}")
        fixed = sorted(set(self.model_config) & set(CTC_CONFIG))
        if fixed:
            raise ValueError(f"model_config: {fixed} are set by the Matcha vocabulary, leave them out")
        if self.head_transfer and not self.model_name_or_path:
            raise ValueError("head_transfer needs model_name_or_path")


def source_vocab(model_name_or_path: str) -> tuple[dict[str, int], str | None]:
    """The pretrained model's ``vocab.json`` and its word delimiter token (None when it has none)."""
    with open(cached_file(model_name_or_path, "vocab.json"), encoding="utf-8") as handle:
        vocab = json.load(handle)
    config_file = cached_file(model_name_or_path, "tokenizer_config.json", _raise_exceptions_for_missing_entries=False)
    delimiter = "|"
    if config_file:
        with open(config_file, encoding="utf-8") as handle:
            delimiter = json.load(handle).get("word_delimiter_token", delimiter)
    return vocab, delimiter


def head_rows(vocab: dict[str, int], blank_id: int, delimiter: str | None) -> dict[int, int]:
    """Matcha id -> row of a pretrained head with vocabulary ``vocab``, for the symbols they share."""
    rows = {}
    for token, matcha_id in vocab_dict().items():
        if matcha_id == BLANK_ID:
            rows[matcha_id] = blank_id
        elif matcha_id == SPACE_ID and delimiter in vocab:
            rows[matcha_id] = vocab[delimiter]
        elif token in vocab:
            rows[matcha_id] = vocab[token]
    return rows


def new_head(model: Wav2Vec2ForCTC, rows: dict[int, int]) -> nn.Linear:
    """A CTC head over Matcha's symbols; rows listed in ``rows`` are copied from the current head."""
    old = model.lm_head
    head = nn.Linear(old.in_features, len(symbols), device=old.weight.device, dtype=old.weight.dtype)
    with torch.no_grad():
        head.weight.normal_(mean=0.0, std=model.config.initializer_range)
        head.bias.zero_()
        for new, source in rows.items():
            head.weight[new] = old.weight[source]
            head.bias[new] = old.bias[source]
    return head


def build_model(args: ModelArguments) -> Wav2Vec2ForCTC:
    """The Wav2Vec2ForCTC to train (see the module docstring)."""
    if not args.model_name_or_path:
        return Wav2Vec2ForCTC(Wav2Vec2Config(**args.model_config, **CTC_CONFIG))
    # float32 master weights whatever the checkpoint's dtype (mixed precision is accelerate's job)
    model = Wav2Vec2ForCTC.from_pretrained(args.model_name_or_path, dtype=torch.float32, **args.model_config)
    rows: dict[int, int] = {}
    if args.head_transfer:
        vocab, delimiter = source_vocab(args.model_name_or_path)
        if max(vocab.values()) >= model.lm_head.out_features:
            raise ValueError(f"{args.model_name_or_path}: vocab.json does not match its CTC head")
        rows = head_rows(vocab, model.config.pad_token_id, delimiter)
        missing = [symbols[i] for i in range(len(symbols)) if i not in rows]
        logger.info("head transfer: %d of %d rows copied; fresh: %s", len(rows), len(symbols), " ".join(missing))
    model.lm_head = new_head(model, rows)
    model.config.update(CTC_CONFIG)
    return model


def feature_extractor_for(args: ModelArguments, model: Wav2Vec2ForCTC) -> Wav2Vec2FeatureExtractor:
    """The pretrained model's feature extractor (else ours).

    Attention masks are given to models trained from scratch and to layer-norm encoders; pretrained
    group-norm encoders (wav2vec2-base) were trained without them, so their padding stays unmasked.
    """
    extractor = build_feature_extractor()
    if args.model_name_or_path and cached_file(
        args.model_name_or_path, "preprocessor_config.json", _raise_exceptions_for_missing_entries=False
    ):
        extractor = Wav2Vec2FeatureExtractor.from_pretrained(args.model_name_or_path)
    if extractor.sampling_rate != SAMPLING_RATE:
        raise ValueError(f"{args.model_name_or_path}: expects {extractor.sampling_rate} Hz audio, not {SAMPLING_RATE}")
    extractor.return_attention_mask = not args.model_name_or_path or model.config.feat_extract_norm == "layer"
    return extractor


def ctc_loss(
    model: Wav2Vec2ForCTC,
    logits: torch.Tensor,
    batch: dict[str, torch.Tensor],
    reduction: str = "mean",
    log_prior: torch.Tensor | None = None,
    prior_weight: float = 0.0,
) -> torch.Tensor:
    """CTC loss with the true lengths of every utterance of the padded batch (``mean``: per target, averaged;
    ``none``: per utterance); with ``prior_weight`` > 0, over label-prior-shifted scores (aligner.ctc.label_prior)."""
    frames = output_lengths(model, batch["input_lengths"])
    log_probs = nn.functional.log_softmax(logits, dim=-1, dtype=torch.float32).transpose(0, 1)
    labels = batch["labels"]
    targets = labels.masked_select(labels >= 0)
    if prior_weight > 0:
        if log_prior is None:
            raise ValueError("prior_weight > 0 needs log_prior")
        loss = prior_ctc_loss(log_probs, targets, frames, batch["label_lengths"], log_prior, prior_weight)
        return (loss / batch["label_lengths"]).mean() if reduction == "mean" else loss
    with torch.backends.cudnn.flags(enabled=False):
        return nn.functional.ctc_loss(
            log_probs, targets, frames, batch["label_lengths"], blank=BLANK_ID, reduction=reduction, zero_infinity=True
        )


def output_lengths(model: Wav2Vec2ForCTC, input_lengths: torch.Tensor) -> torch.Tensor:
    """CTC frames for each input length (in samples)."""
    return model._get_feat_extract_output_lengths(input_lengths).to(torch.long)
