"""CLI subcommands: each module defines ``register(subparsers)``; ``cli`` discovers them all."""
