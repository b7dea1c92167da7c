"""This project installs beside upstream Matcha-TTS and drops into a Matcha fork: under matcha/ it ships only
what both lack, two thin entry points."""

from test_extract import REPO

# Every module file of matcha-tts 0.0.7.2 (its sdist on PyPI), which a Matcha user already has installed.
UPSTREAM_FILES = set(
    """matcha/__init__.py matcha/app.py matcha/cli.py matcha/data/__init__.py matcha/data/components/__init__.py
    matcha/data/text_mel_datamodule.py matcha/hifigan/__init__.py matcha/hifigan/config.py matcha/hifigan/denoiser.py
    matcha/hifigan/env.py matcha/hifigan/meldataset.py matcha/hifigan/models.py matcha/hifigan/xutils.py
    matcha/models/__init__.py matcha/models/baselightningmodule.py matcha/models/components/__init__.py
    matcha/models/components/decoder.py matcha/models/components/flow_matching.py
    matcha/models/components/text_encoder.py matcha/models/components/transformer.py matcha/models/matcha_tts.py
    matcha/onnx/__init__.py matcha/onnx/export.py matcha/onnx/infer.py matcha/text/__init__.py
    matcha/text/cleaners.py matcha/text/numbers.py matcha/text/symbols.py matcha/train.py matcha/utils/__init__.py
    matcha/utils/audio.py matcha/utils/generate_data_statistics.py matcha/utils/get_durations_from_trained_model.py
    matcha/utils/instantiators.py matcha/utils/logging_utils.py matcha/utils/model.py
    matcha/utils/monotonic_align/__init__.py matcha/utils/monotonic_align/core.pyx
    matcha/utils/monotonic_align/setup.py matcha/utils/pylogger.py matcha/utils/rich_utils.py
    matcha/utils/utils.py""".split()
)

# Every module file under matcha/utils/ that the Matcha fork faltiska/Matcha-TTS-24k has had (its history up to
# 2026), and its text front end: the files a fork's owner has, which an install must never replace.
FORK_FILES = {f"matcha/utils/{name}.py" for name in """add_silence add_speaker average_checkpoints combine_checkpoints
    compute_corpus_duration compute_durations compute_mcd generate_data_statistics get_durations_from_trained_model
    instantiators logging_utils mcd_validate mcd_validate_v2 measure_silence model mp3_converter normalize_silence
    perceptual_mel_weights precompute_corpus precompute_durations precompute_mels prepare_ckpt_for_release pylogger
    reset_decoder reset_decoder_and_duration rich_utils test_corpus_ipa total_corpus_duration transplant_spk_emb utils
    utmos_short_utterances utmos_validate validate validate_corpus_ipa __init__""".split()} | {
    "matcha/text/__init__.py", "matcha/text/phonemizers.py", "matcha/text/symbols.py",
}  # fmt: skip


def test_no_file_under_matcha_is_one_of_upstreams_or_a_forks():
    ours = {p.relative_to(REPO).as_posix() for p in (REPO / "matcha").rglob("*") if p.is_file()}
    ours = {p for p in ours if "__pycache__" not in p}
    assert ours and not ours & UPSTREAM_FILES and not ours & FORK_FILES
    # matcha and matcha.utils are namespace packages here: upstream's __init__.py files stay upstream's
    assert not (REPO / "matcha/__init__.py").exists() and not (REPO / "matcha/utils/__init__.py").exists()
    assert ours == {"matcha/utils/ASR/__init__.py", "matcha/utils/extract_durations.py"}
    for path in ours:  # thin: they hand over to the aligner package
        code = [line for line in (REPO / path).read_text().splitlines() if line and not line.startswith((" ", '"'))]
        assert any(line.startswith("from aligner.") for line in code) and len(code) <= 8, (path, code)
