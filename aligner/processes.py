"""Several processes on one machine, with or without GPUs: accelerate's process state with real ranks.

``accelerate launch --multi_gpu --num_processes N`` (or ``torchrun --nproc_per_node N``) starts N
processes. On a machine without CUDA, accelerate's ``PartialState()`` gives each of them rank 0 of 1
unless it is told ``cpu=True``; then they form one gloo group (MULTI_CPU) with ranks 0..N-1. With GPUs,
each process gets its own GPU and NCCL. Training (``aligner/train.py``) and extraction
(``python -m matcha.utils.extract_durations``) both start from ``process_state()``.
"""

from __future__ import annotations

import logging
import os

import torch
from accelerate import PartialState
from accelerate.utils import parse_flag_from_env

logger = logging.getLogger("aligner.processes")


def cpu_only_processes() -> bool:
    """True when started as several processes (torchrun, ``accelerate launch --multi_gpu``) without a GPU."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.cuda.is_available()


def warn_if_one_cpu_process() -> None:
    """``accelerate launch --cpu --num_processes N`` starts one process only (without mpirun): say so."""
    if parse_flag_from_env("ACCELERATE_USE_CPU") and "MASTER_ADDR" in os.environ and "WORLD_SIZE" not in os.environ:
        logger.warning(
            "accelerate launch --cpu starts a single process whatever --num_processes says (without mpirun; "
            "huggingface/accelerate#2741). For several CPU processes use `accelerate launch --multi_gpu "
            "--num_processes N` or `torchrun --nproc_per_node N` (gloo on a machine without GPU)."
        )


def process_state() -> PartialState:
    """This process's rank, process count and device: gloo ranks on the CPU (``cpu_only_processes``),
    one GPU per process otherwise; warns when ``--cpu`` left a single process."""
    warn_if_one_cpu_process()
    return PartialState(cpu=cpu_only_processes())
