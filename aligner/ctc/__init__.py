"""The Wav2Vec2 CTC model over Matcha's symbols: vocabulary, its 16 kHz input, the model with its label
prior, loading a checkpoint and its frame posteriors."""
