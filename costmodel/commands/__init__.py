"""One module per CLI subcommand; ``common`` holds the shared options and output helpers."""
