"""A page to check a whole corpus's alignment by eye and ear: ``python -m aligner.review``.

The page is static and offline: ``R/index.html`` opens from disk (file://) in any browser, with no server
and no network; everything it runs ships in this package (``static/``). Its modules, one job each:

- ``rows``: the index's rows, one per utterance, with status and cause (from the filelists, the first
  duration folder's alignment_summary.csv and which files exist);
- ``views``: one utterance's view (tokens and their kinds, one tier per duration folder, words, the truth);
- ``spectrogram``: the mel as a PNG, the waveform as peaks;
- ``page``: the files of the page (data as scripts that assign globals, since a file:// page may not fetch);
- ``build``: all of it, for a corpus; ``__main__``: the command.

Drawing: wavesurfer.js (BSD-3-Clause, vendored from npm with its licence) draws the waveform from peaks
written here, plays the corpus's own wav through an ``<audio>`` element, moves the cursor and plays a
stretch (``play(start, end)``); the spectrogram is the corpus's mel as an image and the tiers are plain
elements placed by frame, since wavesurfer's spectrogram plugin would have to fetch the audio (refused from
file://) and the durations count frames of that mel, not of a spectrum computed anew.
"""

from aligner.review.build import build_review

__all__ = ["build_review"]
