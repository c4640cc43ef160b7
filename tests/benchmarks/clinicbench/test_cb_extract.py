"""Answer extraction on realistic free-text outputs (many modelled on the authors' v1-era LLaMA-2 outputs)."""

from __future__ import annotations

import pytest

from clue.benchmarks.clinicbench.labels import DDI_ALIASES, HOC_CODES, HOC_NAMES
from clue.metrics import extract

OPTS = {"A": "Histiocytes", "B": "Monocytes", "C": "Lymphocytes", "D": "N K Cells"}


@pytest.mark.parametrize("output, letter", [
    ("The correct answer is C: Lymphocytes.", "C"),
    (" C. Collagen", "C"),
    ("Answer: B. Stability.", "B"),
    ("The answer is A. Lens.\n\nThe lens is derived from the mesoderm ... Therefore, the answer is A. Lens.", "A"),
    ("The answer is B: Class II malocclusion with anterior sliding of mandible.", "B"),
    ("(D)", "D"),
    ("Sure! Let's think step by step. Option A is wrong because ... so the final answer is (C).", "C"),
    ("I think the best choice is Lymphocytes, because ...", "C"),
    ("**B**", "B"),
    ("A 45-year-old man has ... I would pick Lymphocytes here.", "C"),  # "A 45-…" is prose, not option A
])
def test_option_letter(output: str, letter: str) -> None:
    got = extract.option_letter(output, "ABCD", OPTS)
    assert not got.failed and got.value == letter


@pytest.mark.parametrize("output", ["", "I am not sure.", "A patient like this needs more tests.", "Both Histiocytes and Monocytes are plausible.",
                                    "The answer is E."])
def test_option_letter_failures_are_marked(output: str) -> None:
    got = extract.option_letter(output, "ABCD", OPTS)
    assert got.failed and got.value is None and got.reason


@pytest.mark.parametrize("output, label", [
    ('Based on the evidence provided in the context, the answer to the question "Double reading of barium enemas: is it '
     'necessary?" is yes.\n\nThe study showed ... Therefore, the answer is yes, double reading is necessary.', "yes"),
    ("The answer is maybe.\n\nThe context suggests ... does not support a definitive answer of yes or no, and the answer is maybe.",
     "maybe"),
    (" Yes.\n\nThe study found that MPV values were lower ...", "yes"),
    (' Maybe.\n\nThe study found ... Therefore, the answer is ""maybe.""', "maybe"),
    ("No", "no"),
])
def test_yes_no_maybe(output: str, label: str) -> None:
    got = extract.yes_no_maybe(output)
    assert got.value == label and not got.failed


def test_yes_no_ambiguous_fails() -> None:
    assert extract.yes_no_maybe("It could be yes, it could be no.").failed
    assert extract.yes_no_maybe("The evidence is unclear.").failed


def test_label_with_alias() -> None:
    labels = ("mechanism", "effect", "advise", "int", "none")
    assert extract.label("The interaction type is: advice.", labels, DDI_ALIASES).value == "advise"
    assert extract.label("Answer: mechanism", labels, DDI_ALIASES).value == "mechanism"
    assert extract.label("The effect of the mechanism is unclear", labels).failed


def test_hoc_label_set() -> None:
    out = " Based on the content of the document, the Target category is:\n\n7. Genome instability & mutation (GI)"
    assert extract.label_set(out, HOC_NAMES, HOC_CODES).value == {"genomic instability and mutation"}
    out = "3. Resisting cell death (CD) - Apoptosis Cancer\n1. Sustaining proliferative signaling (PS)"
    assert extract.label_set(out, HOC_NAMES, HOC_CODES).value == {"resisting cell death", "sustaining proliferative signaling"}
    assert extract.label_set("PS, CD", HOC_NAMES, HOC_CODES).value == {"resisting cell death", "sustaining proliferative signaling"}
    assert extract.label_set("None of the categories apply.", HOC_NAMES, HOC_CODES).value == frozenset()
    assert extract.label_set("I cannot tell.", HOC_NAMES, HOC_CODES).failed


def test_entity_list_formats() -> None:
    out = (" Sure! Here are the recognized entities in the given paragraph:\n\n0 | <Torsade de pointes ventricular tachycardia>\n"
           "0 | <dilated cardiomyopathy>\n0 | <congestive heart failure>\n0 | <dobutamine>")
    assert extract.entity_list(out).value == ("Torsade de pointes ventricular tachycardia", "dilated cardiomyopathy",
                                              "congestive heart failure", "dobutamine")
    out = " Sure! Here are the recognized entities in paragraph 13:\n\n13 | <hyperammonemic encephalopathy, chemotherapy>"
    assert extract.entity_list(out).value == ("hyperammonemic encephalopathy", "chemotherapy")
    out = (" Sure! Here's the extract you requested:\n\n2 | <recognized entities>\n\n* Dobutamine\n"
           "* Torsade de pointes ventricular tachycardia")
    assert extract.entity_list(out).value == ("Dobutamine", "Torsade de pointes ventricular tachycardia")
    out = "4 | <Positive skin tests>\n\n* Radiographic contrast media (chemical)\n* Late reactions (disease)"
    assert extract.entity_list(out).value == ("Positive skin tests",)
    assert extract.entity_list("12 | none").value == ()
    assert extract.entity_list("I could not find any entity.").failed


def test_tag_entities_matches_corpus_tokenisation() -> None:
    tokens = "Risk of transient hyperammonemic encephalopathy after 5 - fluorouracil and 5 - FU .".split()
    tags = extract.tag_entities(tokens, ["transient hyperammonemic encephalopathy", "5-FU", "cancer"])
    assert tags == ["O", "O", "B-Disease", "I-Disease", "I-Disease", "O", "O", "O", "O", "O", "B-Disease", "I-Disease",
                    "I-Disease", "O"]
    assert extract.tag_entities(["cardiomyopathy"], ["cardio"]) == ["O"]  # never splits a corpus token


def test_iob_tags_alignment() -> None:
    tokens = "The risk of cancer , especially lymphoid neoplasias , is elevated".split()
    out = (" Sure, here's the NER output in IOB format for the given sentence:\n\n@The\tO\nrisk\tO\nof\tO\ncancer\tB-Disease\n"
           ",\tO\nespecially\tO\nlymphoid\tB-DISEASE\nneoplasias\tI-DISEASE\n")
    got = extract.iob_tags(out, tokens)
    assert got.value == ["O", "O", "O", "B-Disease", "O", "O", "B-Disease", "I-Disease", "O", "O", "O"]
    assert extract.iob_tags("Myotonic dystrophy protein kinase\nI-protein", tokens).failed


def test_drug_list() -> None:
    out = ("Analysis: Panic disorder is treated with benzodiazepines and SSRIs.\n\nFinal Answer:\n1. Alprazolam (Xanax)\n"
           "2. Paroxetine\n3. Insulin, Aspart, Human (Novolog)")
    assert extract.drug_list(out).value == ("Alprazolam (Xanax)", "Paroxetine", "Insulin, Aspart, Human (Novolog)")
    assert extract.drug_list("Final Answer: Lorazepam, Clonazepam and Buspirone.").value == ("Lorazepam", "Clonazepam",
                                                                                            "Buspirone")
    assert extract.drug_list("Sure! Here are some medications: Lorazepam.").failed
