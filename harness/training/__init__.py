"""Training tracks: ``full`` (sentence-transformers Trainer) and ``query-side`` (frozen corpus)."""
