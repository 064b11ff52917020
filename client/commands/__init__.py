"""The ``depot`` subcommands, one module per area."""
