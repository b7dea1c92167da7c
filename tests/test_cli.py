"""matcha-aligner: one verb per task, each teaching itself with --help."""

import subprocess
import sys
from importlib.metadata import entry_points

import pytest

from aligner.cli import VERBS, main


def test_the_console_command_is_installed():
    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "matcha-aligner"]
    assert script.value == "aligner.cli:main"


def test_help_lists_every_verb(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert all(f"  {name} " in out for name in VERBS)
    for verb in ("mels", "train", "extract", "report", "review", "evaluate"):
        assert verb in VERBS


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_each_verb_has_its_own_help(verb):
    done = subprocess.run(
        [sys.executable, "-m", "aligner.cli", verb, "--help"], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout and "--help" in done.stdout


def test_the_verb_runs_its_module_with_the_rest_of_the_arguments_from_the_current_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    assert main(["extract", "--corpus", str(tmp_path / "absent")]) == 2  # the extraction's own error exit
    assert "absent" in capsys.readouterr().err
    assert sys.path[0] == str(tmp_path)  # a fork's matcha.text in the current folder is found, as with python -m


def test_an_unknown_verb_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["align"])
    assert exit_info.value.code == 2 and "invalid choice: 'align'" in capsys.readouterr().err
