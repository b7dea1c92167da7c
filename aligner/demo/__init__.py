"""Demo stage: a synthetic corpus spoken by espeak-ng, with the true start of every phone."""
