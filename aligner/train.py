"""Train the Wav2Vec2 CTC aligner on Matcha's IPA tokens (the loop itself: aligner/training/loop.py).

    accelerate launch aligner/train.py CONFIG.yaml [--corpus C] [--output_dir D] [--max_steps N] [--key value ...]
    python aligner/train.py CONFIG.yaml ...                                   (one process)
    accelerate launch --multi_gpu --num_processes N aligner/train.py ...      (N processes: GPUs, or CPU+gloo
                                                                                without GPU / ACCELERATE_USE_CPU=1)
Note: ``accelerate launch --cpu --num_processes N`` starts a single process (accelerate needs mpirun for that).

``python aligner/train.py --help`` lists every config field and what a run writes.
"""

import sys

from aligner.training.loop import main

if __name__ == "__main__":
    sys.exit(main())
