"""``python -m aligner.train CONFIG.yaml [--key value ...]``: ``aligner/train.py`` run as a module.

Run it so from a Matcha fork's root (``accelerate launch -m aligner.train ...`` likewise): Python then finds
the fork's own ``matcha.text`` there, whose tokens the aligner must learn (``aligner.text.frontend``), where a
script path (``python /path/to/aligner/train.py``) would not look in the current folder.
"""

import sys

from aligner.train.loop import main

if __name__ == "__main__":
    sys.exit(main())
