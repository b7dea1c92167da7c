"""``aligner/train.py`` killed (SIGKILL, as by ``kill -9``) inside one of its saves, for tests/test_train_crash.py.

    python tests/killing_train.py WHERE aligner/train.py CONFIG.yaml [--key value ...]

WHERE: ``checkpoint:N``: the N-th checkpoint save, once accelerate has written the model and half of the
optimizer state; ``final``: the final ``save_pretrained``, half of model.safetensors written; ``acoustic``: the
acoustic stage's Viterbi training, at its second round's realignment.
"""

import os
import signal
import sys
from pathlib import Path

import accelerate
import accelerate.checkpointing
from transformers import Wav2Vec2ForCTC

import aligner.acoustic.train
from aligner.training.loop import main


def truncate_and_die(path: str | Path) -> None:
    path = Path(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    os.kill(os.getpid(), signal.SIGKILL)


def kill_in_checkpoint(n: int) -> None:
    save_state, save = accelerate.Accelerator.save_state, accelerate.checkpointing.save
    saves, written = [0], []

    def counted_save_state(self, *args, **kwargs):
        saves[0] += 1
        return save_state(self, *args, **kwargs)

    def dying_save(obj, path, *args, **kwargs):
        save(obj, path, *args, **kwargs)
        written.append(path)
        if saves[0] == n and len(written) >= 2:
            truncate_and_die(path)

    accelerate.Accelerator.save_state = counted_save_state
    accelerate.checkpointing.save = dying_save


def kill_in_final_save() -> None:
    save_pretrained = Wav2Vec2ForCTC.save_pretrained

    def dying_save_pretrained(self, folder, *args, **kwargs):
        save_pretrained(self, folder, *args, **kwargs)
        truncate_and_die(Path(folder) / "model.safetensors")

    Wav2Vec2ForCTC.save_pretrained = dying_save_pretrained


def kill_in_acoustic_fit() -> None:
    realign, calls = aligner.acoustic.train.realign, [0]

    def dying_realign(*args, **kwargs):
        calls[0] += 1
        if calls[0] == 2:
            os.kill(os.getpid(), signal.SIGKILL)
        return realign(*args, **kwargs)

    aligner.acoustic.train.realign = dying_realign


if __name__ == "__main__":
    where = sys.argv[1]
    if where.startswith("checkpoint:"):
        kill_in_checkpoint(int(where.split(":")[1]))
    elif where == "final":
        kill_in_final_save()
    elif where == "acoustic":
        kill_in_acoustic_fit()
    else:
        raise SystemExit(f"unknown WHERE: {where}")
    sys.exit(main(sys.argv[3:]))  # the arguments aligner/train.py would get
