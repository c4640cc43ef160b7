"""BERTScore and UMLS wrappers (spec §2.7.2, §2.7.3) tested with injected fakes: the core
environment has neither torch nor scispaCy, and tests never download models."""

from __future__ import annotations

import sys
import types

import pytest

from clue.benchmarks.clue.protocol import CLUE_2025, CLUE_V3, CORRECTED
from clue.benchmarks.clue.tasks import TASKS
from clue.errors import ConfigError
from clue.metrics import bertscore, umls
from clue.types import Sample


class FakeTensor:
    def __init__(self, values):
        self.values = list(values)

    def tolist(self):
        return list(self.values)


class FakeTokenizer:
    """Word-level stand-in for a BERT tokenizer: one piece per word, plus [CLS] and [SEP]."""

    model_max_length = int(1e30)  # what transformers sets when a tokenizer defines no maximum

    def tokenize(self, text):
        return text.split()

    def num_special_tokens_to_add(self):
        return 2


class FakeScorer:
    instances: list[FakeScorer] = []

    def __init__(self, **kwargs):
        self.kwargs = kwargs
        self.calls: list[tuple[list[str], list[str], int]] = []
        self._tokenizer = FakeTokenizer()
        FakeScorer.instances.append(self)

    def score(self, cands, refs, verbose=False, batch_size=64, return_hash=False):
        self.calls.append((list(cands), list(refs), batch_size))
        p, r = [], []
        for c, ref in zip(cands, refs):
            cw, rw = set(c.split()), set(ref.split())
            p.append(len(cw & rw) / len(cw))
            r.append(len(cw & rw) / len(rw))
        f = [2 * a * b / (a + b) if a + b else 0.0 for a, b in zip(p, r)]
        return FakeTensor(p), FakeTensor(r), FakeTensor(f)


@pytest.fixture
def fake_bert_score(monkeypatch):
    """A fake `bert_score` package in sys.modules; yields the list of scorers it builds."""
    module = types.ModuleType("bert_score")
    module.BERTScorer = FakeScorer  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "bert_score", module)
    monkeypatch.delenv("CLUE_SKIP_METRICS", raising=False)
    FakeScorer.instances = []
    bertscore._scorer.cache_clear()
    yield FakeScorer.instances
    bertscore._scorer.cache_clear()


def run(cands, refs, **kw):
    kw.setdefault("model", "allenai/scibert_scivocab_uncased")
    kw.setdefault("layer", 8)
    return bertscore.score(cands, refs, **kw)


# --- BERTScore ---------------------------------------------------------------------------

def test_available_reports_the_install_hint_when_the_stack_is_missing(monkeypatch):
    monkeypatch.delenv("CLUE_SKIP_METRICS", raising=False)
    monkeypatch.setitem(sys.modules, "bert_score", None)  # makes `import bert_score` raise ImportError
    assert bertscore.available() == "pip install 'clue-kit[bertscore]'"


def test_available_with_the_stack(fake_bert_score):
    assert bertscore.available() is None


def test_default_models():
    assert bertscore.DEFAULT_MODELS == {"scibert": ("allenai/scibert_scivocab_uncased", 8),
                                        "clinicalbert": ("emilyalsentzer/Bio_ClinicalBERT", 9)}


def test_model_layer_and_settings_are_passed(fake_bert_score):
    run(["a b"], ["a c"], model="emilyalsentzer/Bio_ClinicalBERT", layer=9)
    (scorer,) = fake_bert_score
    assert scorer.kwargs == {"model_type": "emilyalsentzer/Bio_ClinicalBERT", "num_layers": 9, "batch_size": 64,
                             "idf": False, "rescale_with_baseline": False, "use_fast_tokenizer": False}


def test_one_batched_call_per_task_and_model_loaded_once(fake_bert_score):
    cands = [f"word{i} shared" for i in range(150)]
    refs = [f"word{i} other" for i in range(150)]
    out = run(cands, refs)
    run(["x"], ["x"])  # a second task with the same model reuses the loaded scorer
    (scorer,) = fake_bert_score
    assert len(scorer.calls) == 2 and len(scorer.calls[0][0]) == 150 and scorer.calls[0][2] == 64
    assert len(out) == 150


def test_percent_scale_and_input_order(fake_bert_score):
    out = run(["a b", "a b c d"], ["a x", "a b c d"])
    assert out[0] == {"bertscore_p": 50.0, "bertscore_r": 50.0, "bertscore_f1": 50.0}
    assert out[1] == {"bertscore_p": 100.0, "bertscore_r": 100.0, "bertscore_f1": 100.0}


def test_sentences_are_stripped(fake_bert_score):
    run(["  Pneumonia, sepsis \n"], ["\tPneumonia, sepsis, "])
    (scorer,) = fake_bert_score
    assert scorer.calls[0][:2] == (["Pneumonia, sepsis"], ["Pneumonia, sepsis,"])


def test_empty_candidate_or_reference_scores_zero_and_is_not_sent(fake_bert_score):
    out = run(["", "a b", "  \n", "a"], ["a", "", "a", "a"])
    zero = {"bertscore_p": 0.0, "bertscore_r": 0.0, "bertscore_f1": 0.0}
    assert out[:3] == [zero, zero, zero] and out[3]["bertscore_f1"] == 100.0
    (scorer,) = fake_bert_score
    assert scorer.calls[0][:2] == (["a"], ["a"])


def test_all_empty_needs_no_model(fake_bert_score):
    assert run(["", " "], ["a", "b"])[1]["bertscore_p"] == 0.0
    assert run([], []) == []
    assert fake_bert_score == []


def test_lowercase_switch(fake_bert_score):
    assert run(["Acute Kidney Injury"], ["acute kidney injury"], lowercase=True)[0]["bertscore_f1"] == 100.0
    assert run(["Acute Kidney Injury"], ["acute kidney injury"], lowercase=False)[0]["bertscore_f1"] == 0.0
    calls = fake_bert_score[0].calls
    assert calls[0][0] == ["acute kidney injury"] and calls[1][0] == ["Acute Kidney Injury"]


def test_truncation_switch(fake_bert_score, capsys):
    long = " ".join(f"w{i}" for i in range(600))  # 602 pieces with [CLS]/[SEP]
    edge = " ".join(f"w{i}" for i in range(510))  # exactly 512: fits
    out = run([long, "a", edge], ["a", long, edge], truncate_512=False)
    assert out[0] == {} and out[1] == {} and out[2]["bertscore_f1"] == 100.0  # left out, not zeroed
    assert "left out 2 pair(s) longer than 512 word-pieces" in capsys.readouterr().err
    scorer = fake_bert_score[0]
    assert scorer.calls[-1][:2] == ([edge], [edge])
    out = run([long], ["a"], truncate_512=True)
    assert set(out[0]) == set(bertscore.KEYS)  # sent to bert-score, which truncates at model_max_length
    assert scorer.calls[-1][0] == [long] and scorer._tokenizer.model_max_length == 512


def test_skip_switch_reports_installed_stacks_as_skipped(fake_bert_score, monkeypatch):
    monkeypatch.setenv("CLUE_SKIP_METRICS", "umls, bertscore")
    assert "CLUE_SKIP_METRICS" in bertscore.available()
    assert "CLUE_SKIP_METRICS" in umls.available()
    assert set(TASKS["meqsum"].skipped_metrics(CLUE_V3)) == set(bertscore.KEYS)


def test_a_model_that_cannot_load_is_a_clear_error(fake_bert_score, monkeypatch):
    def offline(**kwargs):
        raise OSError("We couldn't connect to 'https://huggingface.co'\nmore lines")

    monkeypatch.setattr(sys.modules["bert_score"], "BERTScorer", offline)
    with pytest.raises(ConfigError, match=r"BERTScore model allenai/scibert_scivocab_uncased could not be loaded "
                                          r"\(OSError: We couldn't connect to 'https://huggingface.co'\).*CLUE_SKIP_METRICS"):
        run(["a"], ["a"])


def test_length_mismatch_is_an_error(fake_bert_score):
    with pytest.raises(ValueError):
        run(["a"], [])


# --- MeQSum BERTScore ---------------------------------------------------------------------

def meqsum_samples():
    return [Sample(id=str(i), fields={"CHQ": "q", "Summary": ref}, reference=ref)
            for i, ref in enumerate(["What causes Gout?", "How is asthma treated?"])]


@pytest.mark.parametrize("profile", [CLUE_V3, CORRECTED, CLUE_2025], ids=lambda p: p.name)
def test_meqsum_adds_scibert_in_both_eras(fake_bert_score, profile):
    meqsum = TASKS["meqsum"]
    per_sample = meqsum.score_all(["What causes Gout?", "asthma?"], meqsum_samples(), profile)
    (scorer,) = fake_bert_score
    assert scorer.kwargs["model_type"] == "allenai/scibert_scivocab_uncased" and scorer.kwargs["num_layers"] == 8
    assert scorer.calls[0][0] == ["What causes Gout?", "asthma?"]  # original case
    assert per_sample[0]["bertscore_f1"] == pytest.approx(100.0) and per_sample[0]["rougeL"] == pytest.approx(100.0)
    assert meqsum.skipped_metrics(profile) == {}
    assert set(meqsum.aggregate(per_sample, profile)) == set(meqsum.metrics)


def test_meqsum_without_the_stack_names_bertscore_and_aggregates_rouge_only(monkeypatch):
    monkeypatch.delenv("CLUE_SKIP_METRICS", raising=False)
    monkeypatch.setitem(sys.modules, "bert_score", None)
    meqsum = TASKS["meqsum"]
    per_sample = meqsum.score_all(["What causes Gout?", "asthma?"], meqsum_samples(), CLUE_V3)
    assert all(set(s) == {"rouge1", "rouge2", "rougeL"} for s in per_sample)
    assert meqsum.skipped_metrics(CLUE_V3) == dict.fromkeys(bertscore.KEYS, "pip install 'clue-kit[bertscore]'")
    assert set(meqsum.aggregate(per_sample, CLUE_V3)) == {"rougeL", "rouge1", "rouge2"}


# --- UMLS ---------------------------------------------------------------------------------

@pytest.fixture
def extractor():
    seen: list[str] = []

    def fake(text: str) -> set[str]:
        seen.append(text)
        return {w.strip(",.;").lower() for w in text.split() if w.strip(",.;")}

    umls.set_extractor(fake)
    yield seen
    umls.set_extractor(None)


def test_umls_prf_follows_the_spec():
    assert umls.prf({"a", "b"}, {"b", "c", "d"}) == pytest.approx({"umls_p": 50.0, "umls_r": 100 / 3, "umls_f1": 40.0})
    assert umls.prf(set(), {"a"}) == {"umls_p": 0.0, "umls_r": 0.0, "umls_f1": 0.0}
    assert umls.prf({"a"}, set()) == {"umls_p": 0.0, "umls_r": 0.0, "umls_f1": 0.0}
    assert umls.prf(set(), set()) == {"umls_p": 0.0, "umls_r": 0.0, "umls_f1": 0.0}
    assert umls.prf({"x"}, {"y"}) == {"umls_p": 0.0, "umls_r": 0.0, "umls_f1": 0.0}


def test_umls_score_with_injected_extractor(extractor):
    out = umls.score(["Pneumonia, sepsis", "", "Pneumonia"], ["pneumonia; anemia", "anemia", "Pneumonia"])
    assert out[0] == pytest.approx({"umls_p": 50.0, "umls_r": 50.0, "umls_f1": 50.0})
    assert out[1] == {"umls_p": 0.0, "umls_r": 0.0, "umls_f1": 0.0}
    assert out[2] == {"umls_p": 100.0, "umls_r": 100.0, "umls_f1": 100.0}
    assert sorted(extractor) == sorted(set(extractor))  # each distinct text linked once
    assert umls.available() is None


def test_umls_available_reports_the_hint_when_scispacy_is_missing(monkeypatch):
    monkeypatch.delenv("CLUE_SKIP_METRICS", raising=False)
    monkeypatch.setitem(sys.modules, "scispacy", None)
    hint = umls.available()
    assert hint is not None and "clue-kit[umls]" in hint and "en_core_sci_sm-0.5.4" in hint and "~1 GB" in hint


def test_umls_default_extractor_failure_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "spacy", None)
    monkeypatch.setattr(umls, "_default", None)
    with pytest.raises(ConfigError, match="UMLS linker could not be loaded.*clue-kit\\[umls\\]"):
        umls.score(["a"], ["b"])


# --- the real stack, when the `bertscore` extra is installed (skipped in the core env) ----

def test_real_bert_score_stack_on_a_tiny_local_model(tmp_path, capsys):
    """A tiny random BERT built here (nothing downloaded) through real bert-score: identity scores
    100, empty scores 0, Q24 leaves out or truncates, and (transformers < 5, where bert-score's own
    `score` still runs) our numbers equal bert-score's."""
    pytest.importorskip("bert_score")
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "acute", "kidney", "injury", "sepsis", "anemia", ",", ";"]
    vocab += [f"w{i}" for i in range(600)]
    (tmp_path / "vocab.txt").write_text("\n".join(vocab) + "\n")
    torch.manual_seed(0)
    config = transformers.BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=3, num_attention_heads=2,
                                     intermediate_size=64, max_position_embeddings=512)
    transformers.BertModel(config).save_pretrained(tmp_path)
    model = str(tmp_path)
    cands = ["Acute kidney injury, sepsis", "", " anemia \n", "w1 w2 sepsis", " ".join(f"w{i}" for i in range(520))]
    refs = ["acute kidney injury", "sepsis", "anemia", "anemia ; w2", "sepsis"]
    try:
        out = bertscore.score(cands, refs, model=model, layer=2)
        assert out[1] == dict.fromkeys(bertscore.KEYS, 0.0) and out[2]["bertscore_f1"] == pytest.approx(100.0)
        assert out[4] == {} and "left out 1 pair(s)" in capsys.readouterr().err
        assert set(bertscore.score(cands, refs, model=model, layer=2, truncate_512=True)[4]) == set(bertscore.KEYS)
        if int(transformers.__version__.split(".")[0]) < 5:
            from bert_score import score as upstream

            p, _, f = upstream(cands[:4], refs[:4], model_type=model, num_layers=2, batch_size=3)
            for i in range(4):
                assert out[i]["bertscore_p"] == pytest.approx(100 * p[i].item(), abs=1e-4)
                assert out[i]["bertscore_f1"] == pytest.approx(100 * f[i].item(), abs=1e-4)
    finally:
        bertscore._scorer.cache_clear()
