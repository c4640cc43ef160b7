"""ClinicBench's configured answer kinds (datasets.py) on realistic answers: the HoC label-set table (each reading
worked out by hand from clue.answers.labelset's rule), and each dataset's kind as configured. None = a failure."""

from __future__ import annotations

import pytest

from clue.benchmarks.clinicbench.datasets import HOC, get

CODE = {"PS": "sustaining proliferative signaling", "GS": "evading growth suppressors", "CD": "resisting cell death",
        "RI": "enabling replicative immortality", "A": "inducing angiogenesis", "IM": "activating invasion and metastasis",
        "GI": "genomic instability and mutation", "TPI": "tumor promoting inflammation", "CE": "cellular energetics",
        "ID": "avoiding immune destruction"}
PROMPT_LIST = """1. Sustaining proliferative signaling (PS) - Proliferation Receptor Cancer, 'Growth factor' Cancer
2. Evading growth suppressors (GS) - 'Cell cycle' Cancer, 'Contact inhibition'
3. Resisting cell death (CD) - Apoptosis Cancer, Necrosis Cancer, Autophagy Cancer
4. Enabling replicative immortality (RI) - Senescence Cancer, Immortalization Cancer
5. Inducing angiogenesis (A) - Angiogenesis Cancer, 'Angiogenic factor'
6. Activating invasion & metastasis (IM) - Metastasis Invasion Cancer
7. Genome instability & mutation (GI) - Mutation Cancer', DNA repair' Cancer
8. Tumor-promoting inflammation (TPI)\tInflammation Cancer'
9. Deregulating cellular energetics (CE)\tGlycolysis Cancer; 'Warburg effect' Cancer
10. Avoiding immune destruction (ID) - 'Immune system' Cancer, Immunosuppression Cancer"""

HOC_TABLE = [
    ("7. Genome instability & mutation (GI)", "GI"),
    (" Based on the content of the document, the Target category is:\n\n7. Genome instability & mutation (GI)", "GI"),
    ("3. Resisting cell death (CD) - Apoptosis Cancer\n1. Sustaining proliferative signaling (PS)", "CD PS"),
    ("1. Sustaining proliferative signaling (PS), 3. Resisting cell death (CD)", "PS CD"),  # the exemplar answers' form
    ("PS, CD", "PS CD"),
    ("PS and CD", "PS CD"),
    ("PS", "PS"),
    ("A", "A"),
    ("GI; TPI", "GI TPI"),
    ("ID", "ID"),
    ("Answer: IM, ID", "IM ID"),
    ("Categories: CD", "CD"),
    ("(A)", "A"),
    ("(PS) (GS) (CD)", "PS GS CD"),
    ("Resisting cell death", "CD"),
    ("resisting cell death, inducing angiogenesis", "CD A"),
    ("Inducing angiogenesis (A)", "A"),
    ("Activating invasion & metastasis", "IM"),
    ("activating invasion and metastasis", "IM"),
    ("Tumor-promoting inflammation", "TPI"),
    ("tumor promoting inflammation", "TPI"),
    ("Deregulating cellular energetics (CE)", "CE"),
    ("Avoiding immune destruction", "ID"),
    ("Genomic instability and mutation", "GI"),
    ("**Sustaining proliferative signaling**", "PS"),
    ("Enabling replicative immortality (RI) and evading growth suppressors (GS)", "RI GS"),
    ("Evading growth suppressors, Evading growth suppressors", "GS"),
    ("Category: Genome instability & mutation (GI), Tumor-promoting inflammation (TPI)", "GI TPI"),
    ("This abstract discusses DNA repair, so: Genome instability & mutation.", "GI"),
    ("Inducing angiogenesis, none of the others", "A"),
    # negated mentions do not count
    ("The document is not about inducing angiogenesis; it describes resisting cell death.", "CD"),
    ("Sustaining proliferative signaling (PS) is not relevant; Evading growth suppressors (GS).", "GS"),
    # none
    ("None of the categories apply.", ""),
    ("none", ""),
    ("No category.", ""),
    ("None. The document does not describe any hallmark.", ""),
    # failures: the list echoed, codes inside a sentence, nothing recognisable
    (PROMPT_LIST, None),
    ("The target categories are PS and CD.", None),
    ("The correct category for this document is ? You must choose from the given list of answer categories:", None),
    ("The answer is 5.", None),
    ("I cannot tell.", None),
    ("", None),
]


@pytest.mark.parametrize("output, expected", HOC_TABLE)
def test_hoc_label_set_table(output: str, expected: str | None) -> None:
    got = HOC.read(output, {})
    want = None if expected is None else frozenset(CODE[c] for c in expected.split())
    assert got.value == want, got
    assert got.failed == (expected is None)


def test_table_is_large_enough_and_the_labels_are_the_loaders() -> None:
    from clue.benchmarks.clinicbench.loaders.bio import HOC_LABELS

    assert len(HOC_TABLE) >= 40
    assert set(HOC.labels) == set(HOC_LABELS) == set(CODE.values())


def test_each_dataset_holds_its_configured_kind() -> None:
    assert get("ddi").answer.read("The interaction type is: advice.", {}).value == "advise"
    assert get("ddi").answer.read("The effect of the mechanism is unclear", {}).failed
    assert get("gad").answer.negative == {"no"} and get("ddi").answer.negative == {"none"}
    assert get("pubmedqa").answer.metrics == get("drug-interaction").answer.metrics == ("accuracy",)
    assert get("gad").answer.metrics[0] == get("hoc").answer.metrics[0] == get("bc5-disease").answer.metrics[0] == "f1"
    assert get("iu-xray").answer.metrics[0] == "rougeL" and get("referral-qa").answer is None
    mc = get("medqa").answer
    opts = {"A": "Histiocytes", "B": "Monocytes", "C": "Lymphocytes", "D": "N K Cells", "E": "Eosinophils"}
    assert mc.read("The answer is E: Eosinophils.", {"options": opts}).value == "E"  # the 5-option file's letters
    assert get("bc5-disease").labels == ("Disease",) and get("pharmacology-qa").labels == tuple("ABCD")
