"""Encoding and search: the encoder interface and its cache, models by id, prompts,
devices, exact dense search, BM25 (pyserini) and the cross-encoder teacher."""
