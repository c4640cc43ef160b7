"""Dataset fetching, checksums and status (the sources themselves are declared by each benchmark)."""
