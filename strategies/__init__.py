"""negbench sampling strategies (registry + built-in samplers)."""
