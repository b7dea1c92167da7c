"""Training stage: the Wav2Vec2 CTC aligner over Matcha's symbols (vocabulary, data, model, accelerate loop)."""
