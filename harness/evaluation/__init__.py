"""Scoring runs: measures, per-suite conventions, evaluation with ranx, and the
records a run's evaluation is written to (sealed and checked when read)."""
