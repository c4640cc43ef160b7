"""ClinicBench (Liu et al., EMNLP 2024; arXiv 2405.00716) as one benchmark folder.

`datasets.DATASETS` (the 17 datasets: 16 runnable, Referral QA unavailable), `loaders` (one per
original file format), `prompts/` (.j2, provenance per dataset), `tasks` (the 16 tasks, each holding its
dataset's answer kind from clue.answers), `rule` (groups = the three scenarios), `baselines` (parameterless floors), `sources` (data
fetch/status), `synthetic` (writes the bundled data: public samples from `samples/` + synthetic stand-ins), `roster.yaml` (22 models) and
`published/` (header-only: no published ClinicBench number is bundled). The kit finds it through the
`clue_kit.benchmarks` entry point `clinicbench = "clue.benchmarks.clinicbench:BENCHMARK"`.
"""

from __future__ import annotations

from pathlib import Path

from clue.benchmark import Benchmark
from clue.benchmarks.clinicbench import sources
from clue.benchmarks.clinicbench.datasets import format_table
from clue.benchmarks.clinicbench.protocol import PROTOCOLS, protocol_docs
from clue.benchmarks.clinicbench.published import PUBLISHED
from clue.benchmarks.clinicbench.rule import RULE
from clue.benchmarks.clinicbench.synthetic import materialize
from clue.benchmarks.clinicbench.tasks import TASKS

HERE = Path(__file__).resolve().parent

BENCHMARK = Benchmark(
    name="clinicbench",
    title="ClinicBench",
    tasks=TASKS,
    protocols=PROTOCOLS,
    default_protocol="clinicbench",
    engine_protocols={"tgi": "clinicbench", "vllm": "clinicbench"},
    reference_protocol="clinicbench",
    rule=RULE,
    published=PUBLISHED,
    report_text={
        "header": "no published ClinicBench numbers are bundled (the paper's result tables could not be obtained), so runs "
                  "are shown on their own, never against invented references",
        "leaderboard": "Your runs (highlighted), on their own: no published ClinicBench numbers are bundled with this kit (the "
                       "paper's result tables could not be obtained), so no run is ranked against, matched with or verified "
                       "against a published model.",
        "groups": "Scenario averages (kit choice) = mean of each scenario's runnable datasets: reasoning (5; Referral QA "
                  "unavailable), generation (4), understanding (7).",
        "scatter_title": "Reasoning vs generation",
        "scatter_lead": "Your runs (★, with 95 % CIs; hollow = partial). No published ClinicBench numbers are bundled.",
        "groups_title": "Scenario averages",
        "unlisted": "Not part of a ClinicBench scenario.",
        "published": "none bundled",
    },
    roster=HERE / "roster.yaml",
    data=sources.DATA,
    synthetic=materialize,
    protocol_docs=protocol_docs,
    task_table=format_table,
)
