"""``python -m aligner.evaluate``: score durations against the corpus's true boundaries (aligner.evaluate.score)."""

import sys

from aligner.evaluate.score import main

sys.exit(main())
