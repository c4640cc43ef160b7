"""CLUE (Clinical Language Understanding Evaluation) as one benchmark folder.

Everything CLUE-specific lives here: its six tasks and prompt files, `ClueProfile` (era + Q1…Q29),
post-processing, baseline rules, the published numbers and Level rule, the roster, the data
sources, the MeDiSumCode builder and the synthetic samples (README.md: the module table and the
kit's choices). The kit finds it through the
`clue_kit.benchmarks` entry point `clue = "clue.benchmarks.clue:BENCHMARK"`.
"""

from __future__ import annotations

from pathlib import Path

from clue.benchmark import Benchmark
from clue.benchmarks.clue import sources
from clue.benchmarks.clue.protocol import PROFILES, field_docs
from clue.benchmarks.clue.published import PUBLISHED
from clue.benchmarks.clue.rule import RULE
from clue.benchmarks.clue.synthetic import materialize
from clue.benchmarks.clue.tasks import TASKS

HERE = Path(__file__).resolve().parent

BENCHMARK = Benchmark(
    name="clue",
    title="CLUE",
    tasks=TASKS,
    protocols=PROFILES,
    default_protocol="clue-v3",
    engine_protocols={"tgi": "clue-v3", "vllm": "clue-2025"},
    reference_protocol="clue-v3",
    rule=RULE,
    published=PUBLISHED,
    report_text={  # the report's CLUE wording (clue/report/templates/report.html.j2 reads these keys)
        "header": "published CLUE v3 models and the parameterless baseline",
        "leaderboard": "Your runs (highlighted) next to the published CLUE v3 models.",
        "published_notes": "≈ read from the paper's figure. Hugging Face ids of published models are inferred from their display "
                           "names (the CLUE site shows names only).",
        "groups": "Level 1 = mean of MedNLI, MeQSum, ProblemSummary; Level 2 = mean of MeDiSumQA, MeDiSumCode, LongHealth.",
        "scatter_title": "Level 1 vs Level 2",
        "scatter_lead": "The paper's figure: published models (18 with both levels, plus the parameterless baseline read "
                        "from the figure) and your runs (★, with 95 % CIs; hollow = partial).",
        "groups_title": "Level averages",
        "unlisted": "Not part of the published CLUE aggregate.",
    },
    roster=HERE / "roster.yaml",
    data=sources.DATA,
    builders=sources.BUILDERS,
    synthetic=materialize,
    protocol_docs=field_docs,
    default=True,  # commands without --benchmark mean CLUE
)
