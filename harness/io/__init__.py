"""Files negbench reads and writes: atomic writes and locks, line parsing, TREC run and
qrels files, negatives files and their export formats, digests, writability checks."""
