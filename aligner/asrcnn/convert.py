"""Copy the weights of a checkpoint that needs pickle (StyleTTS2's ``Utils/ASR/epoch_00080.pth``) into a
weights-only file that ``load_asrcnn`` accepts.

    python -m aligner.asrcnn.convert IN.pth OUT.pth

No code of IN runs: its pickle may only rebuild tensors and ordered dicts; every other object it names
(the optimizer's and scheduler's Python objects, ``getattr`` of a bound method, ...) becomes an inert
placeholder, and only ``model`` (the state dict of tensors) is kept.
"""

from __future__ import annotations

import argparse
import collections
import pickle
import sys
import types
from pathlib import Path

import torch

from aligner.asrcnn.checkpoint import ASRCheckpointError, read_checkpoint
from aligner.durations import atomic_write

_ALLOWED = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): torch._utils._rebuild_parameter,
}


class _Placeholder:
    """Stands for any object the pickle names but may not build; absorbs every construction step."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def __call__(self, *args: object, **kwargs: object) -> _Placeholder:
        return _Placeholder()

    def __setstate__(self, state: object) -> None:
        pass

    def __setitem__(self, key: object, value: object) -> None:
        pass

    def append(self, item: object) -> None:
        pass

    def extend(self, items: object) -> None:
        pass


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> object:
        return _ALLOWED.get((module, name), _Placeholder)


def _restricted_load(file: object, **kwargs: object) -> object:
    return _RestrictedUnpickler(file, **kwargs).load()


_restricted_pickle = types.ModuleType("restricted_pickle")
_restricted_pickle.Unpickler = _RestrictedUnpickler
_restricted_pickle.load = _restricted_load
_restricted_pickle.UnpicklingError = pickle.UnpicklingError


def convert_checkpoint(source: str | Path, target: str | Path) -> int:
    """Write ``{"model": state_dict}`` of ``source`` to ``target``; returns the number of tensors."""
    source = Path(source)
    try:
        checkpoint = torch.load(source, map_location="cpu", weights_only=False, pickle_module=_restricted_pickle)
    except (pickle.UnpicklingError, RuntimeError, OSError, EOFError) as error:
        raise ASRCheckpointError(f"{source}: not a readable torch checkpoint ({error})") from error
    model = checkpoint.get("model") if isinstance(checkpoint, dict) else None
    tensors = dict(model.items()) if isinstance(model, dict) else {}
    if not tensors or not all(isinstance(value, torch.Tensor) for value in tensors.values()):
        raise ASRCheckpointError(f"{source}: no state dict of tensors under 'model'")
    state = {"model": collections.OrderedDict((key, value.detach()) for key, value in tensors.items())}
    atomic_write(target, lambda tmp: torch.save(state, tmp))
    read_checkpoint(target)  # the copy loads weights-only
    return len(tensors)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m aligner.asrcnn.convert", description=__doc__)
    parser.add_argument("source", type=Path, help="checkpoint that needs pickle (dict with 'model')")
    parser.add_argument("target", type=Path, help="weights-only copy to write")
    args = parser.parse_args(argv)
    try:
        count = convert_checkpoint(args.source, args.target)
    except ASRCheckpointError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{args.target}: {count} tensors of {args.source} under 'model'")
    return 0


if __name__ == "__main__":
    sys.exit(main())
