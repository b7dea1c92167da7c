"""StyleTTS2's ASRCNN text aligner, the baseline the durations are compared with.

Its code lives in ``aligner.asrcnn`` (model, checkpoint loading, training: ``python -m aligner.asrcnn.train``);
this package keeps StyleTTS2's ``Utils/ASR`` name inside Matcha::

    from matcha.utils.ASR import ASRCNN, load_asrcnn
"""

from aligner.asrcnn.checkpoint import load_asrcnn
from aligner.asrcnn.models import ASRCNN

__all__ = ["ASRCNN", "load_asrcnn"]
