"""The acoustic stage: features on the Matcha mel grid, Gaussian state models tied by context trees, their
search, their Viterbi training on a corpus (``python -m aligner.acoustic.train``) and the files it writes."""
