"""Evaluation stage: durations scored against the true boundaries, comparisons, pictures, frame-offset calibration."""
