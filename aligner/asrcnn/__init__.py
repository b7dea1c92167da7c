"""StyleTTS2's ASR aligner (ASRCNN): its model, mel front end, checkpoints, training and durations for Matcha."""
