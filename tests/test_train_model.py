"""Model building: from scratch, from a local pretrained folder, CTC head transfer, loss, round trip."""

import json
import subprocess
import sys

import pytest
import torch
from transformers import (
    Wav2Vec2Config,
    Wav2Vec2FeatureExtractor,
    Wav2Vec2ForCTC,
    Wav2Vec2Model,
    Wav2Vec2PhonemeCTCTokenizer,
    Wav2Vec2Processor,
)

from aligner.ctc.model import ModelArguments, build_model, ctc_loss, feature_extractor_for, output_lengths
from aligner.ctc.vocab import build_feature_extractor, build_processor
from aligner.text import SPACE_ID, symbol_to_id, symbols
from aligner.training.data import CTCCollator, DataArguments, prepare_data

SMALL = {
    "conv_dim": [16] * 7,
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "num_conv_pos_embeddings": 16,
    "num_conv_pos_embedding_groups": 4,
    "layerdrop": 0.0,
    "mask_time_prob": 0.0,
}
# A phoneme model's own vocabulary, in the shape of facebook/wav2vec2-xlsr-53-espeak-cv-ft's.
SOURCE_VOCAB = ["<pad>", "<s>", "</s>", "<unk>", "|", "a", "b", "ə", "tʃ", "aɪ", "ɪ", "ˈ", "ː", "n", "z", "ɹ"]
SHARED = ["a", "b", "ə", "ɪ", "ˈ", "ː", "n", "z", "ɹ"]


@pytest.fixture(scope="module")
def phoneme_model(tmp_path_factory):
    """A small Wav2Vec2ForCTC with its own IPA vocabulary, saved like a hub phoneme model."""
    folder = tmp_path_factory.mktemp("phoneme_model")
    torch.manual_seed(0)
    config = Wav2Vec2Config(**SMALL, vocab_size=len(SOURCE_VOCAB), pad_token_id=0, feat_extract_norm="layer",
                            do_stable_layer_norm=True)  # fmt: skip
    Wav2Vec2ForCTC(config).save_pretrained(folder)
    vocab_file = folder / "vocab.json"
    vocab_file.write_text(json.dumps({t: i for i, t in enumerate(SOURCE_VOCAB)}, ensure_ascii=False))
    tokenizer = Wav2Vec2PhonemeCTCTokenizer(str(vocab_file), do_phonemize=False, word_delimiter_token="|")
    tokenizer.save_pretrained(folder)
    Wav2Vec2FeatureExtractor(return_attention_mask=True).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def base_model(tmp_path_factory):
    """A pretrained encoder without CTC head (group norm), like facebook/wav2vec2-base."""
    folder = tmp_path_factory.mktemp("base_model")
    torch.manual_seed(1)
    Wav2Vec2Model(Wav2Vec2Config(**SMALL, feat_extract_norm="group")).save_pretrained(folder)
    Wav2Vec2FeatureExtractor(return_attention_mask=False).save_pretrained(folder)
    return folder


def assert_matcha_head(model):
    assert model.lm_head.out_features == model.config.vocab_size == len(symbols)
    assert model.config.pad_token_id == 0
    assert model.config.bos_token_id is None and model.config.eos_token_id is None


def test_from_scratch_has_one_output_per_symbol():
    model = build_model(ModelArguments(model_config=SMALL))
    assert_matcha_head(model)
    assert model.config.ctc_loss_reduction == "mean" and model.config.ctc_zero_infinity


def test_head_transfer_copies_rows_of_shared_symbols(phoneme_model):
    source = Wav2Vec2ForCTC.from_pretrained(phoneme_model)
    model = build_model(ModelArguments(model_name_or_path=str(phoneme_model), head_transfer=True))
    assert_matcha_head(model)
    old_w, old_b = source.lm_head.weight, source.lm_head.bias
    new_w, new_b = model.lm_head.weight, model.lm_head.bias
    src = {t: i for i, t in enumerate(SOURCE_VOCAB)}
    pairs = {symbol_to_id[s]: src[s] for s in SHARED} | {0: src["<pad>"], SPACE_ID: src["|"], 174: src["<unk>"]}
    for new, old in pairs.items():
        assert torch.equal(new_w[new], old_w[old]) and torch.equal(new_b[new], old_b[old]), symbols[new]
    fresh = [i for i in range(len(symbols)) if i not in pairs]
    assert len(fresh) == len(symbols) - len(pairs)
    for i in fresh:
        assert not any(torch.allclose(new_w[i], old_w[j]) for j in range(len(SOURCE_VOCAB)))
        assert new_b[i] == 0
    source_encoder = source.wav2vec2.state_dict()
    for name, tensor in model.wav2vec2.state_dict().items():
        assert torch.equal(tensor, source_encoder[name]), name


def test_without_head_transfer_the_head_is_fresh(phoneme_model):
    source = Wav2Vec2ForCTC.from_pretrained(phoneme_model)
    model = build_model(ModelArguments(model_name_or_path=str(phoneme_model)))
    assert_matcha_head(model)
    assert not torch.allclose(model.lm_head.weight[symbol_to_id["a"]], source.lm_head.weight[SOURCE_VOCAB.index("a")])


def test_pretrained_encoder_without_head(base_model):
    args = ModelArguments(model_name_or_path=str(base_model), freeze_feature_encoder=True)
    model = build_model(args)
    assert_matcha_head(model)
    encoder = Wav2Vec2Model.from_pretrained(base_model).state_dict()
    assert all(torch.equal(t, encoder[n]) for n, t in model.wav2vec2.state_dict().items())
    assert not feature_extractor_for(args, model).return_attention_mask  # group norm: no mask, as pretrained


def test_half_precision_checkpoint_trains_in_float32(tmp_path):
    Wav2Vec2Model(Wav2Vec2Config(**SMALL)).half().save_pretrained(tmp_path)
    model = build_model(ModelArguments(model_name_or_path=str(tmp_path)))
    assert {p.dtype for p in model.parameters()} == {torch.float32}


def test_feature_extractor_masks(phoneme_model):
    args = ModelArguments(model_name_or_path=str(phoneme_model))
    assert feature_extractor_for(args, build_model(args)).return_attention_mask
    scratch = ModelArguments(model_config=SMALL | {"feat_extract_norm": "group"})
    assert feature_extractor_for(scratch, build_model(scratch)).return_attention_mask


def test_bad_model_arguments():
    with pytest.raises(ValueError, match="unknown Wav2Vec2Config"):
        ModelArguments(model_config={"hiden_size": 8})
    with pytest.raises(ValueError, match="set by the Matcha vocabulary"):
        ModelArguments(model_config={"vocab_size": 8})
    with pytest.raises(ValueError, match="head_transfer"):
        ModelArguments(head_transfer=True)


def test_save_and_from_pretrained_round_trip(tmp_path):
    torch.manual_seed(0)
    model = build_model(ModelArguments(model_config=SMALL)).eval()
    model.save_pretrained(tmp_path)
    build_processor().save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").exists()
    loaded = Wav2Vec2ForCTC.from_pretrained(tmp_path).eval()
    processor = Wav2Vec2Processor.from_pretrained(tmp_path)
    assert_matcha_head(loaded)
    audio = torch.randn(16000).numpy()
    inputs = processor(audio, sampling_rate=16000, return_tensors="pt")
    with torch.no_grad():
        assert torch.allclose(model(inputs.input_values).logits, loaded(inputs.input_values).logits)
    assert processor.tokenizer.pad_token_id == 0 and len(processor.tokenizer) == len(symbols)


@pytest.fixture(scope="module")
def small_batch(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("demo")
    subprocess.run([sys.executable, "-m", "aligner.demo.corpus", "--out", str(corpus), "--n", "4", "--quiet"],
                   check=True)  # fmt: skip
    kernel, stride = Wav2Vec2Config().conv_kernel, Wav2Vec2Config().conv_stride
    data = prepare_data(DataArguments(corpus=str(corpus), eval_fraction=0.0), build_feature_extractor(), kernel, stride)
    return CTCCollator()([data.train[i] for i in range(len(data.train))])


def test_loss_falls_when_overfitting_a_small_batch(small_batch):
    shortest = small_batch["input_lengths"].argsort()[:2]
    batch = CTCCollator()(
        [{"input_values": small_batch["input_values"][i, : small_batch["input_lengths"][i]].numpy(),
          "labels": small_batch["labels"][i, : small_batch["label_lengths"][i]].numpy()} for i in shortest]
    )  # fmt: skip
    torch.manual_seed(0)
    model = build_model(ModelArguments(model_config=SMALL | {"do_stable_layer_norm": True})).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(25):
        loss = ctc_loss(model, model(batch["input_values"], attention_mask=batch["attention_mask"]).logits, batch)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    assert all(torch.isfinite(torch.tensor(losses)))
    assert losses[-1] < 0.5 * losses[0], losses


def test_ctc_loss_uses_each_utterance_length(small_batch):
    torch.manual_seed(0)
    model = build_model(ModelArguments(model_config=SMALL)).eval()
    with torch.no_grad():
        logits = model(small_batch["input_values"], attention_mask=small_batch["attention_mask"]).logits
        batch_losses = ctc_loss(model, logits, small_batch, reduction="none")
        frames = output_lengths(model, small_batch["input_lengths"])
        assert frames.max() == logits.shape[1]
        for i in range(len(frames)):
            one = {k: v[i : i + 1] for k, v in small_batch.items()}
            one["labels"] = one["labels"][:, : one["label_lengths"][0]]
            alone = ctc_loss(model, logits[i : i + 1, : frames[i]], one, reduction="none")
            assert torch.allclose(alone, batch_losses[i : i + 1], rtol=1e-5)
