"""Alignment stage: CTC posteriors, score matrix and MAS to durations on Matcha's mel grid, and the extraction run."""
