"""Benchmarks: one folder each, registered through the `clue_kit.benchmarks` entry-point group
(see clue/benchmark.py). The core never imports this package."""
