"""Make ``python -m matcha.utils.extract_durations`` work from the root of a Matcha fork.

    python -m aligner.matcha_fork --root .        (run from the fork's root, or name it)

A fork run from its root (``python -m matcha.train ...``) has its own regular ``matcha`` package first on
Python's path: it hides the ``matcha/utils/extract_durations.py`` that this project installs, so the command
is not found there. This adds exactly one file to the fork, ``matcha/utils/extract_durations.py``: the same
few lines as the installed one, which hand over to the installed ``aligner`` package. It changes no file of
the fork (it refuses to replace a different file of that name) and adds nothing else; delete the file to
undo it. Everything else (``aligner/train.py``, ``python -m aligner.mels``, ...) lives under the name
``aligner``, which no fork hides.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ENTRY = Path(__file__).resolve().parents[1] / "matcha" / "utils" / "extract_durations.py"


class ForkError(ValueError):
    """A folder that is not a Matcha fork's root, or a file of the fork in the way."""


def add_entry(root: str | Path) -> tuple[Path, bool]:
    """Copy the command's entry file into ``root/matcha/utils/``; returns (its path, whether it was added
    now). ``ForkError`` when ``root`` has no regular ``matcha/utils`` package or holds another file there."""
    root = Path(root)
    utils = root / "matcha" / "utils"
    if not (root / "matcha" / "__init__.py").is_file() or not utils.is_dir():
        raise ForkError(f"{root}: no matcha/__init__.py and matcha/utils/ here; run this from a Matcha fork's root")
    target = utils / ENTRY.name
    if target.exists():
        if target.read_bytes() == ENTRY.read_bytes():
            return target, False
        raise ForkError(f"{target} exists and is not this project's entry file; move it away first (not replaced)")
    shutil.copyfile(ENTRY, target)
    return target, True


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m aligner.matcha_fork", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--root", type=Path, default=Path("."), help="the fork's root (default: the current folder)")
    args = parser.parse_args(argv)
    try:
        target, added = add_entry(args.root)
    except ForkError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{'added' if added else 'already there'}: {target} (runs aligner.extract.cli; delete it to undo)")
    print("from the fork's root:  python -m matcha.utils.extract_durations --data-config configs/data/X.yaml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
