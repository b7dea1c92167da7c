"""README.md and docs/ are current: every command their code blocks show exists with the options shown, and
every file of the project they name is there."""

import importlib.util
import re
import shlex
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from aligner.cli import VERBS

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
NOT_OURS = {"matcha/train.py"}  # upstream Matcha's own script, run in its checkout


def code_lines(page: Path) -> list[str]:
    """The command lines of a page's ```bash blocks, continuation lines joined, comments dropped."""
    lines, inside = [], False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            inside = line.strip() == "```bash"
            continue
        if inside:
            text = line.split("  #")[0].split("# ")[0].rstrip() if not line.lstrip().startswith("#") else ""
            if lines and lines[-1].endswith("\\"):
                lines[-1] = lines[-1][:-1] + " " + text.strip()
            elif text:
                lines.append(text)
    return lines


def commands() -> list[tuple[str, str]]:
    return [(page.name, line) for page in PAGES for line in code_lines(page)]


@cache
def help_text(command: tuple[str, ...]) -> str:
    done = subprocess.run([sys.executable, *command, "--help"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def as_python(words: list[str]) -> list[str]:
    """``accelerate launch [its options] X ...`` as ``python X ...``: accelerate's own options are not ours."""
    if words[:2] != ["accelerate", "launch"]:
        return words
    start = next(i for i, w in enumerate(words) if w == "-m" or w.endswith(".py"))
    return ["python", *words[start:]]


def entry(words: list[str]) -> tuple[str, ...] | None:
    """The ``python ...`` arguments that run the command ``words`` starts with, None for a command not ours."""
    if words[:1] == ["matcha-aligner"] and len(words) > 1:
        assert words[1] in VERBS, f"no verb {words[1]!r}"
        return ("-m", "aligner.cli", words[1])
    if words[:2] == ["python", "-m"]:
        assert importlib.util.find_spec(words[2]) is not None, f"no module {words[2]}"
        return ("-m", words[2]) if words[2].startswith(("aligner", "matcha.utils")) else None
    if words[0] == "python" and words[1].endswith(".py") and words[1] not in NOT_OURS:
        assert (ROOT / words[1]).is_file(), f"no file {words[1]}"
        return (words[1],)
    return None


@pytest.mark.parametrize("page, line", commands())
def test_every_command_exists_with_its_options(page, line):
    words = shlex.split(line.split(" | ")[0].split(" && ")[-1])
    words = as_python([w for w in words if "=" not in w or w.startswith("-")])  # FOO=1 make ...: a variable
    if words[0] == "make":
        targets = re.findall(r"^([a-z-]+):", (ROOT / "Makefile").read_text(encoding="utf-8"), flags=re.M)
        assert words[1] in targets, f"{page}: no make target {words[1]}"
        return
    command = entry(words)
    if command is None:
        return
    shown = {w.split("=")[0] for w in words if w.startswith("--") and len(w) > 2}
    missing = [option for option in sorted(shown) if option not in help_text(command)]
    assert not missing, f"{page}: {line!r}: {missing} not in its --help"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_file_named_is_there(page):
    ours = r"(?:aligner|benchmarks|scripts|configs/aligner|tests|docs)/"  # matcha/ and configs/data/: a Matcha's too
    named = re.findall(rf"`({ours}[\w./-]+)`", page.read_text(encoding="utf-8"))
    missing = [path for path in named if not (ROOT / path.rstrip("/")).exists() and "{" not in path]
    assert not missing, f"{page.name} names files that do not exist: {missing}"


def test_the_readme_is_a_front_door():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) < 200
    linked = set(re.findall(r"\]\((docs/[\w.-]+\.md)\)", readme))
    assert linked == {f"docs/{page.name}" for page in PAGES[1:]}, "every docs page linked from the README"
