"""This project installs beside upstream Matcha-TTS: under matcha/ it ships only what upstream lacks."""

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


def test_no_file_under_matcha_is_one_of_upstreams():
    ours = {p.relative_to(REPO).as_posix() for p in (REPO / "matcha").rglob("*") if p.is_file()}
    ours = {p for p in ours if "__pycache__" not in p}
    assert ours and not ours & UPSTREAM_FILES
    # matcha and matcha.utils are namespace packages here: upstream's __init__.py files stay upstream's
    assert not (REPO / "matcha/__init__.py").exists() and not (REPO / "matcha/utils/__init__.py").exists()
    assert {p.split("/")[2] for p in ours} == {"ASR", "extract_durations.py", "precompute_corpus.py"}
