"""ClinicBench (Liu et al., EMNLP 2024; arXiv 2405.00716) — datasets, loaders, prompts and baselines.

Standalone pieces (phase A of issue 14): `datasets.DATASETS` (the 17 datasets), `loaders.load`
(one loader per original file format), `prompts.render` (the .j2 prompts), `baselines`. Wiring
into the benchmark level (tasks, `--benchmark clinicbench`) is a separate step.
"""
