"""A run as a list of stages (mine, train, encode, retrieve, audit, evaluate) run by one small
executor that owns resume, timing, atomic outputs and provenance; each track is a stage list."""
