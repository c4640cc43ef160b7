"""The entity-list and IOB reading rules (clue.answers.entities, clue.answers.iob) on realistic NER answers (many
modelled on the authors' v1-era LLaMA-2 outputs), each reading worked out by hand; the summed per-sentence counts
against seqeval, the reference implementation. None = an extraction failure."""

from __future__ import annotations

import random

import pytest

from clue.answers import EntityList, IobTags
from clue.answers.entities import entity_strings, tag_entities, tags_to_entities

ENTITY_TABLE = [
    ("0 | <Torsade de pointes ventricular tachycardia>", ("Torsade de pointes ventricular tachycardia",)),
    (" Sure! Here are the recognized entities in the given paragraph:\n\n0 | <Torsade de pointes ventricular tachycardia>\n"
     "0 | <dilated cardiomyopathy>\n0 | <congestive heart failure>\n0 | <dobutamine>",
     ("Torsade de pointes ventricular tachycardia", "dilated cardiomyopathy", "congestive heart failure", "dobutamine")),
    (" Sure! Here are the recognized entities in paragraph 13:\n\n13 | <hyperammonemic encephalopathy, chemotherapy>",
     ("hyperammonemic encephalopathy", "chemotherapy")),
    (" Sure! Here's the extract you requested:\n\n2 | <recognized entities>\n\n* Dobutamine\n* Torsade de pointes ventricular tachycardia",
     ("Dobutamine", "Torsade de pointes ventricular tachycardia")),
    ("3 | <recognized entities>\n\n- seizures\n- coma", ("seizures", "coma")),
    ("3 | <recognized entities>\n• seizures", ("seizures",)),
    ("4 | <Positive skin tests>\n\n* Radiographic contrast media (chemical)\n* Late reactions (disease)", ("Positive skin tests",)),
    ("3 | hypertension", ("hypertension",)),
    ("3|seizures", ("seizures",)),
    ("  7 |   <  nephrotoxicity  >  ", ("nephrotoxicity",)),
    ("3 | <hypertension>, <diabetes>", ("hypertension", "diabetes")),
    ("3 | 'hypertension', \"diabetes\"", ("hypertension", "diabetes")),
    ("3 | “cardiotoxicity”", ("cardiotoxicity",)),
    ("3 | `seizures`", ("seizures",)),
    ("3 | **hypertension**", ("hypertension",)),
    ("3 | hypertension.", ("hypertension",)),
    ("3 | hypertension (disease), cisplatin (chemical)", ("hypertension", "cisplatin")),
    ("3 | seizures (diseases)", ("seizures",)),
    ("3 | seizures (drug)", ("seizures",)),
    ("3 | <hepatitis B, liver cirrhosis>", ("hepatitis B", "liver cirrhosis")),
    ("3 | renal failure, renal failure", ("renal failure",)),
    ("3 | <Insulin resistance>\n3 | <insulin resistance>", ("Insulin resistance", "insulin resistance")),
    ("3 | seizures; coma", ("seizures; coma",)),  # only commas separate entities
    ("Sure! Here are the entities:\n3 | <renal failure>\nThese are diseases.", ("renal failure",)),
    ("3 | none\n4 | asthma", ("asthma",)),
    ("3 | cancer\n\nNote: cancer is mentioned twice.", ("cancer",)),
    ("5 | <renal failure>\n6 | <asthma>", ("renal failure", "asthma")),  # any index: models renumber
    # explicit empty answers
    ("12 | none", ()),
    ("12 | <>", ()),
    ("12 |", ()),
    ("3 | N/A", ()),
    ("3 | <none>", ()),
    ("3 | <N/A>", ()),
    ("There are no entities in this paragraph.\n3 | none", ()),
    # failures
    ("2 | <recognized entities>", None),  # the answer format echoed, nothing else
    ("I could not find any entity.", None),
    ("The entities are: renal failure, asthma", None),
    ("renal failure | 3", None),
    ("1. renal failure\n2. asthma", None),
    ("Paragraph: <3> | <seizures>", None),
    ("Sorry, I cannot help with that.", None),
    ("", None),
]

TOKENS = "The risk of cancer , especially lymphoid neoplasias , is elevated".split()
IOB_TABLE = [
    ("The\tO\nrisk\tO\nof\tO\ncancer\tB-Disease\n,\tO\nespecially\tO\nlymphoid\tB-Disease\nneoplasias\tI-Disease\n,\tO\nis\tO\n"
     "elevated\tO", "OOOBOOBIOOO"),
    (" Sure, here's the NER output in IOB format for the given sentence:\n\n@The\tO\nrisk\tO\nof\tO\ncancer\tB-Disease\n"
     ",\tO\nespecially\tO\nlymphoid\tB-DISEASE\nneoplasias\tI-DISEASE\n", "OOOBOOBIOOO"),
    ("cancer B-Disease\nlymphoid B-Disease\nneoplasias I-Disease", "OOOBOOBIOOO"),
    ("cancer\tB\nlymphoid\tB\nneoplasias\tI", "OOOBOOBIOOO"),
    ("cancer\tb-disease\nlymphoid\tb-disease\nneoplasias\ti-disease", "OOOBOOBIOOO"),
    ("cancer\tB-Chemical", "OOOBOOOOOOO"),  # the type is the task's, whatever the answer says
    ("cancer\tI-Disease", "OOOBOOOOOOO"),  # an I after O starts an entity
    ("lymphoid neoplasias\tB-Disease", "OOOOOOBIOOO"),  # a word spanning two tokens
    ("Cancer\tB-Disease", "OOOBOOOOOOO"),  # case-insensitive alignment
    ("neoplasias\tB\ncancer\tB", "OOOOOOOBOOO"),  # left to right: a word before the last match is not found again
    ("tumour\tB", "OOOOOOOOOOO"),  # a word not in the sentence tags nothing
    ("cancer\tO", "OOOOOOOOOOO"),
    ("\n".join(f"{t}\tO" for t in TOKENS), "OOOOOOOOOOO"),
    ("cancer: B-Disease", "OOOOOOOOOOO"),  # "cancer:" is no token of the sentence
    ("cancer\tB-Disease\nExplanation: cancer is a disease.", "OOOBOOOOOOO"),  # prose lines are not tag lines
    ("cancer\tB-Disease\nlymphoid\tI-Disease", "OOOBOOBOOOO"),  # I after an O ("especially") starts a new entity
    ("Myotonic dystrophy protein kinase\nI-protein", None),
    ("No disease is mentioned in this sentence.", None),
    ("cancer\tDisease", None),  # not an IOB tag
    ("", None),
]


@pytest.mark.parametrize("output, expected", ENTITY_TABLE)
def test_entity_list_table(output: str, expected: tuple[str, ...] | None) -> None:
    got = entity_strings(output)
    assert got.value == expected, got
    assert got.failed == (expected is None)


@pytest.mark.parametrize("output, expected", IOB_TABLE)
def test_iob_table(output: str, expected: str | None) -> None:
    got = IobTags("Disease").read(output, {"tokens": TOKENS})
    want = None if expected is None else tuple({"O": "O", "B": "B-Disease", "I": "I-Disease"}[c] for c in expected)
    assert got.value == want, got


def test_tables_are_large_enough() -> None:
    assert len(ENTITY_TABLE) >= 40 and len(IOB_TABLE) >= 20


def test_entity_strings_become_tags_on_the_corpus_tokens() -> None:
    tokens = "Risk of transient hyperammonemic encephalopathy after 5 - fluorouracil and 5 - FU .".split()
    tags = tag_entities(tokens, ["transient hyperammonemic encephalopathy", "5-FU", "cancer"])
    assert tags == ["O", "O", "B-Disease", "I-Disease", "I-Disease", "O", "O", "O", "O", "O", "B-Disease", "I-Disease",
                    "I-Disease", "O"]
    assert tag_entities(["cardiomyopathy"], ["cardio"]) == ["O"]  # never splits a corpus token
    got = EntityList("Disease").read("0 | <transient hyperammonemic encephalopathy>", {"tokens": tokens})
    assert got.value == tuple(tags[:5] + ["O"] * 9)
    assert tags_to_entities(tokens, tags) == ["transient hyperammonemic encephalopathy", "5 - FU"]
    assert EntityList().answer_fields(tuple(tags), {"tokens": tokens})["entities"] == ["transient hyperammonemic encephalopathy", "5 - FU"]


def test_summed_sentence_counts_equal_seqeval_micro_figures() -> None:
    """The kind sums per-sentence counts; the sums must give seqeval's strict micro figures exactly (the reference)."""
    from seqeval.metrics import f1_score, precision_score, recall_score
    from seqeval.scheme import IOB2

    rng = random.Random(3)
    tags = ("O", "O", "B-Disease", "I-Disease")
    gold = [[rng.choice(tags) for _ in range(rng.randint(1, 12))] for _ in range(300)]
    pred = [[t if rng.random() < 0.7 else rng.choice(tags) for t in g] for g in gold]
    kind = IobTags("Disease")
    got = kind.aggregate([kind.per_sample(tuple(p), tuple(g)) for g, p in zip(gold, pred)])
    kw = dict(mode="strict", scheme=IOB2, average="micro", zero_division=0)
    assert got["precision"] == pytest.approx(100 * precision_score(gold, pred, **kw))
    assert got["recall"] == pytest.approx(100 * recall_score(gold, pred, **kw))
    assert got["f1"] == pytest.approx(100 * f1_score(gold, pred, **kw))


def test_entity_and_token_figures_by_hand() -> None:
    kind = EntityList("Disease")
    gold = [("B-Disease", "I-Disease", "O", "B-Disease"), ("O", "B-Disease", "I-Disease")]
    pred = [("B-Disease", "I-Disease", "O", "O"), ("O", "B-Disease", "O")]
    # entities: gold 3, predicted 2, exact 1 → P 1/2, R 1/3, F1 0.4; tokens: gold 5, predicted 3, both 3 → P 1, R 3/5, F1 0.75
    got = kind.aggregate([kind.per_sample(p, g) for p, g in zip(pred, gold)])
    assert got == {"f1": pytest.approx(40.0), "precision": pytest.approx(50.0), "recall": pytest.approx(100 / 3),
                   "token_f1": pytest.approx(75.0)}
    strict = kind.aggregate([kind.per_sample(("I-Disease", "I-Disease"), ("B-Disease", "I-Disease"))])
    assert strict["f1"] == 0.0 and strict["token_f1"] == pytest.approx(100.0)  # I without B starts no entity
    failed = kind.per_sample(None, ("B-Disease", "O"))  # a failed read is all "O": it can only lose recall
    assert failed == {"tp": 0, "fp": 0, "fn": 1, "token_tp": 0, "token_fp": 0, "token_fn": 1}


def test_floors_write_no_entities() -> None:
    assert EntityList().floor([("O",), ("O",)], [{}, {}]) == ["0 | none", "1 | none"]
    assert IobTags().floor([("O", "O")], [{"tokens": ["a", "b"]}]) == ["a\tO\nb\tO"]
