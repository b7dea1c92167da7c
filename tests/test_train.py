"""The training script: configuration, metrics, end-to-end runs (one and two processes), resume."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import datasets
import pytest
import torch
import yaml
from safetensors.torch import load_file
from test_extract import free_port
from transformers import Wav2Vec2ForCTC, Wav2Vec2Processor

from aligner.ctc.model import ModelArguments
from aligner.processes import cpu_only_processes, warn_if_one_cpu_process
from aligner.text import symbols
from aligner.training.config import parse_config
from aligner.training.data import DataArguments
from aligner.training.loop import TrainArguments, apply_small_corpus, resolve_mixed_precision
from aligner.training.metrics import edit_distance, greedy_decode

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "configs" / "aligner" / "tiny.yaml"
TYPES = (ModelArguments, DataArguments, TrainArguments)
TINY_SETTINGS = yaml.safe_load(TINY.read_text())
# Seed 1: on these 10 utterances the held-out PER of step 2 (0.85) is below that of step 4 (1.0), which the
# test of the saved model needs; the run is deterministic, so the seed keeps it so.
QUICK = ["--per_device_train_batch_size", "2", "--warmup_steps", "2", "--logging_steps", "1", "--acoustic_rounds", "0",
         "--seed", "1"]  # fmt: skip


def parse(tmp_path, config: dict, *flags: str):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return parse_config(TYPES, [str(path), *flags])


def test_yaml_values_and_command_line_overrides(tmp_path):
    config = {"max_steps": 10, "ctc_targets": "all", "model_config": {"hidden_size": 64, "layerdrop": 0.0}}
    model, data, train = parse(
        tmp_path,
        config | {"weight_decay": 1},
        "--max_steps", "4", "--learning_rate", "2e-3", "--freeze_feature_encoder", "--group_by_length", "false",
        "--model_config", "{hidden_size: 32, num_hidden_layers: 2}", "--resume_from_checkpoint", "latest",
    )  # fmt: skip
    assert train.max_steps == 4 and train.learning_rate == 2e-3 and train.resume_from_checkpoint == "latest"
    assert train.weight_decay == 1.0 and isinstance(train.weight_decay, float)
    assert data.ctc_targets == "all" and model.freeze_feature_encoder and not train.group_by_length
    assert model.model_config == {"hidden_size": 32, "layerdrop": 0.0, "num_hidden_layers": 2}  # merged


def test_a_corpus_below_small_corpus_hours_trains_with_the_small_corpus_settings(tmp_path):
    config = {"model_config": {"hidden_size": 32}, "small_corpus_hours": 0.5,
              "small_corpus": {"model_config": {"hidden_dropout": 0.1}, "speed_perturbation": [0.9, 1.1]}}  # fmt: skip
    for hours, applied in ((0.2, True), (0.5, False), (3.0, False)):
        model, _, train = parse(tmp_path, config)
        assert apply_small_corpus(model, train, hours) is applied
        if applied:
            assert model.model_config == {"hidden_size": 32, "hidden_dropout": 0.1}
            assert train.speed_perturbation == [0.9, 1.1]
        else:
            assert model.model_config == {"hidden_size": 32} and train.speed_perturbation == [1.0]
    model, _, train = parse(tmp_path, {**config, "small_corpus_hours": 0})
    assert not apply_small_corpus(model, train, 0.2)
    model, _, train = parse(tmp_path, TINY_SETTINGS)  # the shipped config: 200 utterances are small
    assert apply_small_corpus(model, train, 0.17) and train.speed_perturbation == [0.9, 1.0, 1.1]
    assert model.model_config["mask_time_prob"] == 0.05


@pytest.mark.parametrize(
    ("config", "flags", "message"),
    [
        ({"max_stepz": 3}, [], "unknown keys"),
        ({}, ["--max_steps", "many"], "max_steps: expected int"),
        ({"ctc_targets": "words"}, [], "ctc_targets"),
        ({"mixed_precision": "fp8"}, [], "mixed_precision"),
        ({}, ["--speed_perturbation", "[1.0, -0.9]"], "speed_perturbation must be a list of numbers from 0.5 to 2"),
        ({}, ["--speed_perturbation", "[0.9, fast]"], "speed_perturbation must be a list of numbers"),
        ({}, ["--speed_perturbation", "[.inf]"], "speed_perturbation must be a list of numbers"),
        ({"small_corpus": {"speed_perturbation": [0]}}, [], "small_corpus.speed_perturbation must be"),
        ({"small_corpus": {"model_config": [1]}}, [], "small_corpus.model_config must be a mapping"),
        ({"small_corpus": {"dropout": 0.1}}, [], "small_corpus: unknown keys ['dropout']"),
        ({"small_corpus": {"model_config": {"hidden_dropot": 0.1}}}, [], "unknown Wav2Vec2Config fields"),
    ],
)
def test_bad_configuration_is_a_clear_error(tmp_path, capsys, config, flags, message):
    with pytest.raises(SystemExit):
        parse(tmp_path, config, *flags)
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("name", ["tiny.yaml", "base.yaml", "xlsr-espeak.yaml"])
def test_shipped_configs_parse(name):
    model, data, train = parse_config(TYPES, [str(ROOT / "configs" / "aligner" / name)])
    assert data.ctc_targets in ("all", "phones") and train.output_dir.startswith("outputs/aligner/")
    assert (model.model_name_or_path is None) == (name == "tiny.yaml")
    assert model.head_transfer == (name == "xlsr-espeak.yaml")


def test_edit_distance():
    assert edit_distance([], []) == 0
    assert edit_distance([1, 2, 3], [1, 2, 3]) == 0
    assert edit_distance([1, 3], [1, 2, 3]) == 1
    assert edit_distance([1, 2, 4, 3], [1, 2, 3]) == 1
    assert edit_distance([9, 9], [1, 2, 3]) == 3
    assert edit_distance([], [1, 2]) == 2


def test_greedy_decode_merges_repeats_drops_blanks_and_padding():
    paths = torch.tensor([[0, 5, 5, 0, 5, 7, 7, 0, 9, 9], [3, 3, 0, 4, 4, 4, 8, 8, 8, 8]])
    logits = torch.nn.functional.one_hot(paths, 12).float()
    assert greedy_decode(logits, torch.tensor([10, 6])) == [[5, 5, 7, 9], [3, 4]]


def test_mixed_precision_and_cpu_processes(monkeypatch, caplog):
    assert resolve_mixed_precision("bf16", torch.device("cpu")) == "no"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    assert resolve_mixed_precision("auto", torch.device("cuda")) == "fp16"
    assert resolve_mixed_precision("no", torch.device("cuda")) == "no"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert cpu_only_processes()
    monkeypatch.delenv("WORLD_SIZE")
    assert not cpu_only_processes()
    monkeypatch.setenv("ACCELERATE_USE_CPU", "True")
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    warn_if_one_cpu_process()
    assert "starts a single process" in caplog.text


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    command = [sys.executable, "-m", "aligner.demo.corpus", "--out", str(root), "--n", "10", "--quiet"]
    subprocess.run(command, check=True, capture_output=True)
    return root


def run_training(corpus, output_dir, *flags, launcher=(sys.executable,)) -> subprocess.CompletedProcess:
    command = [*launcher, str(ROOT / "aligner" / "train.py"), str(TINY), "--corpus", str(corpus),
               "--output_dir", str(output_dir), *QUICK, *flags]  # fmt: skip
    env = dict(os.environ, ACCELERATE_USE_CPU="1")
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def train(corpus, output_dir, *flags, launcher=(sys.executable,)):
    result = run_training(corpus, output_dir, *flags, launcher=launcher)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return json.loads((output_dir / "train_results.json").read_text())


@pytest.fixture(scope="module")
def single_run(corpus, tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("run")
    results = train(corpus, output_dir, "--max_steps", "4", "--eval_steps", "2", "--save_steps", "2",
                    "--acoustic_rounds", "2")  # fmt: skip
    return output_dir, results


def test_single_process_run_writes_a_loadable_model(single_run):
    output_dir, results = single_run
    assert results["steps"] == 4 and results["num_processes"] == 1
    assert [p["step"] for p in results["per_curve"]] == [2, 4]
    assert 0 <= results["final_per"] and results["eval_utterances"] == 1
    model = Wav2Vec2ForCTC.from_pretrained(output_dir)
    processor = Wav2Vec2Processor.from_pretrained(output_dir)
    assert model.config.vocab_size == len(symbols) and model.config.pad_token_id == 0
    assert model.config.ctc_targets == "phones"
    assert processor.tokenizer.pad_token_id == 0 and processor.feature_extractor.sampling_rate == 16000
    assert (output_dir / "model.safetensors").exists()
    card = (output_dir / "README.md").read_text()
    assert "phone error rate" in card and "4 steps" in card
    assert yaml.safe_load((output_dir / "train_config.yaml").read_text())["max_steps"] == 4
    assert list((output_dir / "tensorboard").rglob("events.out.tfevents*"))
    assert sorted(p.name for p in (output_dir / "checkpoints").iterdir()) == ["step_0000002", "step_0000004"]
    settings = json.loads((output_dir / "alignment.json").read_text())  # the acoustic stage, fitted at the end
    assert (output_dir / "acoustic_model.safetensors").exists() and settings["utterances"] == 10
    assert [row["round"] for row in settings["rounds"]] == [1, 2] and "offset_ms" in settings


def held_out_per(model: Wav2Vec2ForCTC, corpus: Path) -> float:
    """The PER of ``model`` on the prepared held-out split, one utterance at a time (as the run's
    evaluation with one held-out utterance: no padding)."""
    (split,) = (corpus / ".cache" / "aligner").glob("*/eval")
    errors = length = 0
    with torch.no_grad():
        for row in datasets.load_from_disk(str(split)).with_format("numpy"):
            audio = torch.tensor(row["input_values"])[None]
            logits = model(audio, attention_mask=torch.ones_like(audio, dtype=torch.long)).logits
            (hypothesis,) = greedy_decode(logits, torch.tensor([logits.shape[1]]))
            errors += edit_distance(hypothesis, row["labels"].tolist())
            length += len(row["labels"])
    return errors / length


def test_the_saved_model_is_the_one_with_the_lowest_held_out_per(single_run, corpus):
    output_dir, results = single_run
    curve = [(p["step"], p["per"]) for p in results["per_curve"]]
    best_step, best_per = min(curve, key=lambda entry: entry[1])  # the first of equals, as training keeps it
    assert (results["best_step"], results["best_per"]) == (best_step, best_per)
    assert results["final_per"] == curve[-1][1] and results["steps"] == curve[-1][0] == 4
    assert best_step < 4 and best_per < results["final_per"], f"this run must be best before its end: {curve}"
    saved = load_file(output_dir / "model.safetensors")
    at = {step: load_file(output_dir / "checkpoints" / f"step_{step:07d}" / "model.safetensors") for step in (2, 4)}
    assert saved.keys() == at[best_step].keys()
    assert all(torch.equal(saved[name], at[best_step][name]) for name in saved), "weights of the best step"
    assert not all(torch.equal(saved[name], at[4][name]) for name in saved), "not those of the last step"
    assert held_out_per(Wav2Vec2ForCTC.from_pretrained(output_dir).eval(), corpus) == pytest.approx(best_per)
    card = (output_dir / "README.md").read_text()
    assert f"weights of step {best_step}," in card and f"{best_per:.2%}" in card


def test_resume_from_checkpoint_continues_exactly(single_run, corpus, tmp_path):
    output_dir, results = single_run
    shutil.copytree(output_dir / "checkpoints" / "step_0000002", tmp_path / "checkpoints" / "step_0000002")
    resumed = train(corpus, tmp_path, "--max_steps", "4", "--eval_steps", "2", "--save_steps", "2",
                    "--resume_from_checkpoint", "latest")  # fmt: skip
    assert resumed["steps"] == 4 and [p["step"] for p in resumed["per_curve"]] == [2, 4]
    expected, actual = load_file(output_dir / "model.safetensors"), load_file(tmp_path / "model.safetensors")
    assert expected.keys() == actual.keys()
    for name in expected:
        torch.testing.assert_close(actual[name], expected[name], rtol=1e-5, atol=1e-6, msg=name)


def test_resume_in_a_later_epoch_continues_exactly(corpus, tmp_path):
    """9 training utterances in batches of 2: 5 batches an epoch, so step 6 is in epoch 1 (the batch order, the
    speed perturbation and the dropout and time-mask draws of that epoch must be the uninterrupted run's: the
    10-utterance corpus trains with tiny.yaml's small_corpus settings, which have all three)."""
    flags = ["--max_steps", "8", "--eval_steps", "8", "--save_steps", "6", "--report_to", "none"]
    whole = train(corpus, tmp_path / "whole", *flags)
    assert whole["epochs"] > 1 and whole["train_utterances"] == 9
    settings = yaml.safe_load((tmp_path / "whole" / "train_config.yaml").read_text())
    assert settings["model_config"]["hidden_dropout"] > 0 and settings["speed_perturbation"] == [0.9, 1.0, 1.1]
    shutil.copytree(
        tmp_path / "whole" / "checkpoints" / "step_0000006", tmp_path / "resumed" / "checkpoints" / "step_0000006"
    )
    train(corpus, tmp_path / "resumed", *flags, "--resume_from_checkpoint", "latest")
    expected, actual = (load_file(tmp_path / run / "model.safetensors") for run in ("whole", "resumed"))
    for name in expected:
        torch.testing.assert_close(actual[name], expected[name], rtol=1e-5, atol=1e-6, msg=name)


def test_two_processes_with_accelerate_launch(corpus, tmp_path):
    launcher = (sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
                "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
                "--main_process_port", str(free_port()))  # fmt: skip
    results = train(corpus, tmp_path, "--max_steps", "4", "--eval_steps", "2", "--save_steps", "0",
                    "--report_to", "none", launcher=launcher)  # fmt: skip
    assert results["num_processes"] == 2 and results["total_batch_size"] == 4 and results["steps"] == 4
    assert Wav2Vec2ForCTC.from_pretrained(tmp_path).config.vocab_size == len(symbols)


def test_label_prior_training_saves_the_estimated_prior(corpus, tmp_path):
    train(corpus, tmp_path, "--max_steps", "4", "--eval_steps", "4", "--save_steps", "0", "--report_to", "none",
          "--label_prior_weight", "0.3", "--label_prior_steps", "2")  # fmt: skip
    prior = torch.tensor(Wav2Vec2ForCTC.from_pretrained(tmp_path).config.label_log_prior).exp()
    assert prior.shape == (len(symbols),) and abs(prior.sum().item() - 1) < 1e-2
    assert prior.max() > 2 / len(symbols)  # estimated from the model's posteriors, not the uniform start
