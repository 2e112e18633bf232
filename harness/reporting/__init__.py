"""From records to verdicts: comparability, seed- and query-aware statistics, reports,
tables, plots, the leaderboard, reproductions of published numbers and the CI gate."""
