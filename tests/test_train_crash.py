"""A kill -9 inside training's saves: the rerun of the same command finishes with the model of an
uninterrupted run, and every file it reads was written whole (issue #27)."""

import json
import shutil
import signal
import sys

import pytest
import torch
from safetensors.torch import load_file
from test_train import ROOT, corpus, run_training, train  # noqa: F401 (corpus: the fixture)
from transformers import Wav2Vec2ForCTC

from aligner.training.data import PreparedData
from aligner.training.loop import RUN_FILE, find_checkpoint, run_differences, run_identity

FLAGS = [
    "--max_steps",
    "4",
    "--eval_steps",
    "2",
    "--save_steps",
    "2",
    "--report_to",
    "none",
    "--acoustic_rounds",
    "2",
]  # fmt: skip (a rerun resumes from 'latest' by default)


def killed(root, output_dir, where: str) -> None:
    """Run the training of ``FLAGS`` with a SIGKILL planted at ``where`` (tests/killing_train.py)."""
    harness = (sys.executable, str(ROOT / "tests" / "killing_train.py"), where)
    result = run_training(root, output_dir, *FLAGS, launcher=harness)
    assert result.returncode == -signal.SIGKILL, result.stderr[-3000:]


@pytest.fixture(scope="module")
def uninterrupted(corpus, tmp_path_factory):  # noqa: F811
    output_dir = tmp_path_factory.mktemp("uninterrupted")
    train(corpus, output_dir, *FLAGS)
    return output_dir


def same_tensors(actual: dict, expected: dict) -> None:
    assert actual.keys() == expected.keys()
    for name in expected:
        torch.testing.assert_close(actual[name], expected[name], rtol=1e-5, atol=1e-6, msg=name)


@pytest.mark.parametrize(
    "where, left_behind, missing",
    [
        ("checkpoint:2", "checkpoints/.partial-step_0000004", ["checkpoints/step_0000004", "model.safetensors"]),
        ("final", ".partial-model/model.safetensors", ["model.safetensors", "config.json", "train_results.json"]),
        ("acoustic", "model.safetensors", ["acoustic_model.safetensors", "alignment.json"]),
    ],
)
def test_a_run_killed_inside_a_save_reruns_to_the_uninterrupted_model(
    corpus,  # noqa: F811
    uninterrupted,
    tmp_path,
    where,
    left_behind,
    missing,  # noqa: F811
):
    output_dir = tmp_path / "run"
    killed(corpus, output_dir, where)
    assert (output_dir / left_behind).exists() and not any((output_dir / name).exists() for name in missing)
    if where == "acoustic":  # the CTC model was whole before the fit began
        Wav2Vec2ForCTC.from_pretrained(output_dir)

    results = train(corpus, output_dir, *FLAGS)  # the same command again
    assert results["steps"] == 4
    same_tensors(load_file(output_dir / "model.safetensors"), load_file(uninterrupted / "model.safetensors"))
    same_tensors(
        load_file(output_dir / "acoustic_model.safetensors"), load_file(uninterrupted / "acoustic_model.safetensors")
    )
    settings, expected = (json.loads((d / "alignment.json").read_text()) for d in (output_dir, uninterrupted))
    assert settings["rounds"] == expected["rounds"] and settings["offset_ms"] == expected["offset_ms"]
    Wav2Vec2ForCTC.from_pretrained(output_dir)
    assert sorted(p.name for p in (output_dir / "checkpoints").iterdir()) == ["step_0000002", "step_0000004"]
    assert not list(output_dir.rglob(".partial-*")) and not list(output_dir.rglob("*.tmp"))


def test_latest_skips_an_unfinished_save_and_says_so(tmp_path, caplog):
    for name in ("step_0000002", ".partial-step_0000004"):
        (tmp_path / "checkpoints" / name).mkdir(parents=True)
    assert find_checkpoint(tmp_path, "latest") == tmp_path / "checkpoints" / "step_0000002"
    assert "skipping" in caplog.text and ".partial-step_0000004" in caplog.text
    with pytest.raises(FileNotFoundError, match="not a checkpoint folder"):
        find_checkpoint(tmp_path, str(tmp_path / "checkpoints" / ".partial-step_0000004"))
    assert find_checkpoint(tmp_path / "elsewhere", "latest") is None


def test_a_rerun_with_other_settings_refuses_to_resume_and_null_starts_afresh(corpus, uninterrupted, tmp_path):  # noqa: F811
    output_dir = tmp_path / "run"
    shutil.copytree(uninterrupted / "checkpoints", output_dir / "checkpoints")
    refused = run_training(corpus, output_dir, *FLAGS, "--learning_rate", "0.002")
    assert refused.returncode == 2 and "learning_rate: 0.001 -> 0.002" in refused.stderr
    assert "--resume_from_checkpoint null" in refused.stderr and not (output_dir / "model.safetensors").exists()
    results = train(corpus, output_dir, *FLAGS, "--learning_rate", "0.002", "--resume_from_checkpoint", "null")
    assert results["steps"] == 4 and [p["step"] for p in results["per_curve"]] == [2, 4]
    fresh = load_file(output_dir / "checkpoints" / "step_0000002" / "model.safetensors")
    old = load_file(uninterrupted / "checkpoints" / "step_0000002" / "model.safetensors")
    assert any(not torch.equal(fresh[name], old[name]) for name in old), "trained afresh at the new rate"


def test_run_differences_name_what_changed_between_a_checkpoint_and_this_run(tmp_path):
    def identity(config: dict, key: str = "abc", folder: str = "corpus", processes: int = 1) -> dict:
        data = PreparedData(None, None, None, tmp_path / "cache" / key, False, "builtin")
        return run_identity(config, data, tmp_path / folder, processes)

    checkpoint = tmp_path / "step_0000002"
    checkpoint.mkdir()
    assert run_differences(checkpoint, identity({}))[0].startswith("no run.json")  # an earlier version's
    config = {"learning_rate": 0.001, "max_steps": 4, "output_dir": "a", "max_train_minutes": 0}
    (checkpoint / RUN_FILE).write_text(json.dumps(identity(config)))
    free = {**config, "output_dir": "b", "max_train_minutes": 5, "added_by_a_later_version": 1}
    assert run_differences(checkpoint, identity(free)) == ("", False)
    assert run_differences(checkpoint, identity({**config, "learning_rate": 0.002, "max_steps": 8})) == (
        "learning_rate: 0.001 -> 0.002, max_steps: 4 -> 8",
        False,
    )
    assert run_differences(checkpoint, identity(config, processes=2)) == ("num_processes: 1 -> 2", False)
    assert run_differences(checkpoint, identity(config, key="def")) == ("", True)  # its texts or wavs changed
    assert run_differences(checkpoint, identity(config, folder="moved")) == ("", False)  # the same data elsewhere
    other = run_differences(checkpoint, identity(config, key="def", folder="other"))
    assert other == (f"corpus: {tmp_path / 'corpus'} -> {tmp_path / 'other'}", False)
