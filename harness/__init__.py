"""negbench harness: data, encoding, training, retrieval, evaluation, reporting."""
