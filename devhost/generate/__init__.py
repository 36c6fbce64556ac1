"""Generated months for demos, tests and benchmarks."""
