"""Model-free search: monotonic alignment search (MAS) over a [tokens, frames] score matrix, the two-state
search, annotation marks, the CTC score matrix and its mel grid, torchaudio's CTC forced_align baseline."""
