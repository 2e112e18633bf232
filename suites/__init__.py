"""negbench standardized suites."""
