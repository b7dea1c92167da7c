"""``python -m matcha.utils.extract_durations``: phoneme durations for Matcha-TTS (``--help`` teaches it).

The code is in the installed ``aligner`` package (``aligner.extract.cli``); this file only gives the command
its place inside Matcha, and is the one file ``python -m aligner.matcha_fork`` copies into a fork.
"""

import sys

from aligner.extract.cli import main

if __name__ == "__main__":
    sys.exit(main())
