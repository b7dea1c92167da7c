"""Evaluation stage: durations scored against the true boundaries, comparisons, pictures, and the CTC
frame offset the truth implies (a measurement only: nothing outside this stage reads the truth)."""
