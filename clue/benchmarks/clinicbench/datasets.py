"""The 17 ClinicBench datasets as data: what each is, where it comes from, how the kit runs it.

Facts and their tags come from shared/research/clinicbench.md (§2 Table 1 sizes, §4 sources and
licences, §5 prompts). Every decision the paper leaves open is written down as a `choice:` note
in `Dataset.choices`; `prompt` says where the prompt wording comes from:
  paper            the final paper's Table 8 text (as transcribed by nyuolab/CABA)
  earlier-release  the authors' v1-era prompts (AI-in-Health/ClinicBench orphaned commit b78265a9, results/*.csv)
  kit              the kit's own wording (the paper's text is not available to us)
`exemplars` says where few-shot exemplars come from: "train" or "dev" (that split's file, when it is present beside
the test file), or "leave-one-out" (no such split: each item's exemplars are drawn from the other test items). Every
test item is scored in every setting either way (see pools.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from clue.answers import AnswerKind, ClosedLabel, DrugList, EntityList, FreeText, IobTags, LabelSet, OptionLetter
from clue.benchmarks.clinicbench.labels import DDI_ALIASES, HOC_CODES, HOC_NAMES, HOC_PROMPT_NAMES
from clue.datafiles import DataFile, HubFile, Url

SCENARIOS = ("reasoning", "generation", "understanding")
ACCESS = ("public", "released-by-authors", "credentialed", "unavailable")
PROMPT_PROVENANCE = ("paper", "earlier-release", "kit")
V1_COMMIT = "b78265a9905c0bb48a5c35889fe334162fa0d775"
REPO = "https://github.com/AI-in-Health/ClinicBench"


@dataclass(frozen=True)
class Dataset:
    name: str  # kit id (data directory, prompt directory, command line)
    title: str
    scenario: str
    task: str
    answer: AnswerKind | None  # reads, scores and floors the answers (clue.answers); None: nothing to run
    size: int  # Table 1 test items
    metric: str  # display text of the primary figure (what is computed is `answer`'s)
    access: str
    licence: str
    sources: tuple[str, ...]
    files: tuple[DataFile, ...]  # core DataFiles without their task (sources.py binds it): test and train/dev files
    loader: str | None  # function name in clinicbench.loaders (None: nothing to load)
    exemplars: str  # train | dev | leave-one-out | none
    prompt: str  # paper | earlier-release | kit | none
    prompt_source: str
    choices: tuple[str, ...] = ()

    @property
    def runnable(self) -> bool:
        return self.access != "unavailable" and self.answer is not None

    @property
    def labels(self) -> tuple[str, ...]:
        """The answer's vocabulary (option letters, labels, entity type), as its kind declares it."""
        return self.answer.labels if self.answer is not None else ()

    @property
    def credentialed(self) -> bool:
        return self.access == "credentialed"


# Pinned sources (shared/research/clinicbench.md §0.1, §4; nyuolab/CABA manifests @ 4a0f8bce for the Hub revisions;
# sha256 of the train files computed from the fetched repositories at these commits).
_RAW = "https://raw.githubusercontent.com"
CB_COMMIT = "f55f454dc150d1e0312d17a178e8bd8459a4fcf7"
PQA_COMMIT = "1cbae8e92f72f20c8d3747cbb3bf5bc53554d997"
MIRAGE_COMMIT = "392943af99cd94cafd50a0de2e7fca24bbf65494"
MTL_COMMIT = "df0df02fae6dbb87d88ffcf323b9096528f06f84"
DDI_COMMIT = "819b0fa538ed83ab2a8b4f5417bba3c03249b7f3"
MEDQA_REV = "0fb93dd23a7339b6dcd27e241cb9b5eca62d4d18"  # HF GBaker/MedQA-USMLE-4-options
MEDMCQA_REV = "91c6572c454088bf71b679ad90aa8dffcd0d5868"  # HF openlifescienceai/medmcqa
GAD_REV = "8950f534f8012eef317e1b90b2a8b13fbec8746d"  # HF bigbio/gad
_CB = f"{_RAW}/AI-in-Health/ClinicBench/{CB_COMMIT}"
_PQA = f"{_RAW}/pubmedqa/pubmedqa/{PQA_COMMIT}/data"
_MIRAGE = f"{_RAW}/Teddy-XiongGZ/MIRAGE/{MIRAGE_COMMIT}/rawdata"
_MTL = f"{_RAW}/cambridgeltl/MTL-Bioinformatics-2016/{MTL_COMMIT}/data"
_MMLU_TAR = Url("https://people.eecs.berkeley.edu/~hendrycks/data.tar")  # MMLU's own release (≈166 MB; no version id)
_GAD_ZIP = HubFile("bigbio/gad", "data/REdata.zip", GAD_REV, sha256="b3317c119db6a8c5895e8c7464590e4a2e5f00ae7078745cf6adc9cbef42bd2e")
_BLUE_ZIP = Url("https://github.com/ncbi-nlp/BLUE_Benchmark/releases/download/0.1/bert_data.zip")  # release tag 0.1, no commit
_MIMIC_NOTE = ("credentialed content (MIMIC text): only with PhysioNet credentialed access under the DUA; download {} yourself, "
               "chmod 600, never commit it")
_MC_CHOICE = ("choice: a letter outside the options, no letter, or several options named without one explicit answer "
              "statement is an extraction failure (counted, scored wrong; the reading rule: clue.answers.option)",)
_V1 = f"{REPO}/blob/{V1_COMMIT}"
_HELD = ("choice: no train/dev split: every test item is scored in every setting; in a few-shot run each item's k "
         "exemplars are drawn from the other test items (leave-one-out, seeded by --fewshot-seed, stratified by label "
         "where the label set is small), so no item is its own exemplar",)
_LABEL = ("choice: an output naming several labels without an 'answer is …' statement is an extraction failure "
          "(the reading rule: clue.answers.label)",)

# the answer kinds (clue.answers): each reading rule, score and floor is configured here, once
OPTION = OptionLetter("ABCD")  # an item's own options (A-E for the 5-option MedQA file) take precedence
YES_NO_MAYBE = ClosedLabel(("yes", "no", "maybe"))  # accuracy
YES_NO = ClosedLabel(("yes", "no"))  # accuracy
GAD = ClosedLabel(("yes", "no"), negative={"no"})  # F1 of the positive class
DDI = ClosedLabel(("mechanism", "effect", "advise", "int", "none"), DDI_ALIASES, negative={"none"})  # micro-F1, 4 types
HOC = LabelSet(HOC_NAMES, HOC_CODES, HOC_PROMPT_NAMES)  # BLUE's example-based F1

DATASETS: tuple[Dataset, ...] = (
    Dataset(
        name="medqa", title="MedQA (USMLE, US)", scenario="reasoning", task="exam-style QA",
        answer=OPTION, size=1273, metric="accuracy",
        access="public", licence="MIT (jind11/MedQA); HF GBaker card CC BY 4.0",
        sources=("https://github.com/jind11/MedQA", "https://huggingface.co/datasets/GBaker/MedQA-USMLE-4-options"),
        files=(DataFile("phrases_no_exclude_test.jsonl", "c3b905ccfa66152dc25afbcb2c10e86c0bdb208824f0658fcdb2c040f60a2beb",
                        HubFile("GBaker/MedQA-USMLE-4-options", "phrases_no_exclude_test.jsonl", MEDQA_REV),
                        also=("medqa/medqa_us_4options_test_first*.jsonl",)),
               DataFile("phrases_no_exclude_train.jsonl", None, HubFile("GBaker/MedQA-USMLE-4-options", "phrases_no_exclude_train.jsonl",
                                                                         MEDQA_REV), role="train")),
        loader="load_medqa", exemplars="train",
        prompt="earlier-release", prompt_source=f"{_V1}/results/MedQA-USMLE_US.csv",
        choices=("choice: 4 options by default (Table 1 size 1,273 = the US 4-option test); the 5-option US test "
                 "file is loaded the same way (options A-E) when given — the paper does not say which it used",
                 "choice: exemplars from the US train file (same directory) when present",) + _MC_CHOICE,
    ),
    Dataset(
        name="medmcqa", title="MedMCQA (dev)", scenario="reasoning", task="exam-style QA",
        answer=OPTION, size=4183, metric="accuracy",
        access="public", licence="MIT (GitHub release); Apache-2.0 (HF card)",
        sources=("https://github.com/medmcqa/medmcqa", "https://huggingface.co/datasets/openlifescienceai/medmcqa"),
        files=(DataFile("dev.json", "a2b5f53890f4e742b728378fb847bc5338088d48ea01218676379f587270af31",
                        Url(f"{_MIRAGE}/medmcqa/data/dev.json", MIRAGE_COMMIT), also=("medmcqa/medmcqa_dev_first*.jsonl",)),
               DataFile("train.parquet", None, HubFile("openlifescienceai/medmcqa", "data/train-00000-of-00001.parquet", MEDMCQA_REV),
                        role="train", note="HF parquet, cop 0-indexed; reading it needs pyarrow")),
        loader="load_medmcqa", exemplars="train",
        prompt="earlier-release", prompt_source=f"{_V1}/results/MedMCQA.csv",
        choices=("choice: the release's dev.json has `cop` 1-indexed, HF validation 0-indexed: the loader takes "
                 "index_base (default: the release's 1) and refuses a file that contradicts it",) + _MC_CHOICE,
    ),
    Dataset(
        name="mmlu-medicine", title="MMLU professional medicine", scenario="reasoning", task="exam-style QA",
        answer=OPTION, size=272, metric="accuracy",
        access="public", licence="MIT (hendrycks/test)",
        sources=("https://github.com/hendrycks/test", "https://huggingface.co/datasets/cais/mmlu"),
        files=(DataFile("professional_medicine_test.csv", "a034bf0dda10cb0848bdd3097eb1547d61ca2dac9e9b871563691621c38d51e9",
                        Url(f"{_MIRAGE}/mmlu/data/test/professional_medicine_test.csv", MIRAGE_COMMIT),
                        also=("mmlu-medicine/professional_medicine_test_first*.csv",
                              "mmlu-professional-medicine/professional_medicine_test_first*.csv")),
               DataFile("professional_medicine_dev.csv", None, _MMLU_TAR, role="dev", member="data/dev/professional_medicine_dev.csv")),
        loader="load_mmlu", exemplars="dev",
        prompt="earlier-release", prompt_source=f"{_V1}/results/MMLU-Medicine.csv",
        choices=("choice: MMLU-Med = professional_medicine only (272 = its test size; the v1-era outputs start with its "
                 "first question)", "choice: exemplars from professional_medicine_dev.csv (5 items, MMLU's own few-shot pool)")
        + _MC_CHOICE,
    ),
    Dataset(
        name="pubmedqa", title="PubMedQA (PQA-L test)", scenario="reasoning", task="exam-style QA",
        answer=YES_NO_MAYBE, size=500, metric="accuracy",
        access="public", licence="MIT",
        sources=("https://github.com/pubmedqa/pubmedqa",),
        files=(DataFile("ori_pqal.json", "8b3276be8942ebbd77f3ddcda12c1749bf0e490045a736fd8438ee40cf37a41d",
                        Url(f"{_PQA}/ori_pqal.json", PQA_COMMIT), also=("pubmedqa/pqal_test_sample*.json",)),
               DataFile("test_ground_truth.json", "939fe566f09017d13b1ca64d2ddfee0bc2374b366048152997669cccedc44d51",
                        Url(f"{_PQA}/test_ground_truth.json", PQA_COMMIT), also=("pubmedqa/test_ground_truth_sample*.json",))),
        loader="load_pubmedqa", exemplars="train",
        prompt="earlier-release", prompt_source=f"{_V1}/results/PubMedQA.csv",
        choices=("choice: the 500 official test PMIDs (not HF's 1,000-row train); exemplars from the other 500 PQA-L items",
                 "choice: CONTEXTS = the abstract's context paragraphs joined by one space (as in the v1-era inputs)",
                 "test_ground_truth.json is sorted by label: items are taken in PMID order and exemplars by a seeded "
                 "draw, never in file order") + _LABEL,
    ),
    Dataset(
        name="treatment-recommendation", title="Treatment Recommendation", scenario="reasoning", task="treatment recommendation",
        answer=DrugList(), size=796, metric="F1 over drug lists",
        access="released-by-authors", licence="Apache-2.0 (ChatDoctor format_dataset.csv; repo later Apache-2.0)",
        sources=(REPO, "https://github.com/Kent0n-Li/ChatDoctor"),
        files=(DataFile("Treatment-Recommendation.csv", "b2f0412b982830a07d6dbc18493f475b09a10d664e17357ed7ce30b0792fa27e",
                        Url(f"{_CB}/Treatment-Recommendation.csv", CB_COMMIT),
                        also=("treatment-recommendation/Treatment-Recommendation_first*.csv",)),),
        loader="load_treatment", exemplars="leave-one-out",
        prompt="paper", prompt_source="Table 8 task / answer format / not-to-dos (verbatim via nyuolab/CABA)",
        choices=_HELD + ("choice: the unpublished 'content' slot = the `reason` column, 'question' = a kit sentence built from "
                         "the disease and its symptoms (as CABA did)",
                         "choice: drug names compared after normalisation (clue.metrics.druglist); per-item F1, mean over items",
                         "choice: no 'Final Answer:' in the output = extraction failure (counted, F1 0)"),
    ),
    Dataset(
        name="referral-qa", title="Referral QA", scenario="reasoning", task="referral QA",
        answer=None, size=1057, metric="unknown",
        access="unavailable", licence="not released (MIMIC-IV derived)",
        sources=(REPO,),
        files=(),
        loader=None, exemplars="none",
        prompt="none", prompt_source="not published",
        choices=("never released by the authors: listed for completeness, never run",),
    ),
    Dataset(
        name="iu-xray", title="IU-Xray (findings → impression)", scenario="generation", task="radiology report summarization",
        answer=FreeText("findings"), size=341, metric="ROUGE-L",
        access="public", licence="CC BY-NC-ND 4.0 (NLM Open-i)",
        sources=("https://openi.nlm.nih.gov/faq",),
        files=(DataFile("NLMCXR_reports.tgz", "8fb6de7eec73d8c3665067ad4bb003ccd57f971ae316d2642e1627ac7268667a",
                        Url("https://openi.nlm.nih.gov/imgs/collections/NLMCXR_reports.tgz")),),
        loader="load_iu_xray", exemplars="train",
        prompt="paper", prompt_source="Table 8 radiology prompt (verbatim via nyuolab/CABA)",
        choices=("choice: reports with both FINDINGS and IMPRESSION (3,419); test = a seeded 10 % draw, floor(0.1 × n) "
                 "= 341 for 3,419 (the paper's exact list is not published); the other 90 % are the exemplar pool",
                 "choice: whitespace inside each section collapsed to single spaces"),
    ),
    Dataset(
        name="mimic-cxr", title="MIMIC-CXR (findings → impression)", scenario="generation", task="radiology report summarization",
        answer=FreeText("findings"), size=3269, metric="ROUGE-L",
        access="credentialed", licence="PhysioNet Credentialed Health Data License 1.5.0",
        sources=("https://physionet.org/content/mimic-cxr/2.0.0/",),
        files=(DataFile("reports/", access="credentialed",
                        note="the mimic-cxr-reports tree (files/pXX/p<subject>/s<study>.txt) from PhysioNet, credentialed access "
                             "under the DUA; never committed"),),
        loader="load_mimic_cxr", exemplars="leave-one-out",
        prompt="paper", prompt_source="Table 8 radiology prompt (verbatim via nyuolab/CABA)",
        choices=_HELD + ("choice: the 3,269-report test list is not published: the kit scores every report (s*.txt) found "
                         "under the directory the user gives (e.g. the official test split's studies)",
                         "choice: reports lacking a FINDINGS or IMPRESSION section are skipped (counted in the load note)"),
    ),
    Dataset(
        name="hospitalization-summarization", title="Hospitalization Summarization", scenario="generation", task="hospitalization summarization",
        answer=FreeText("record"), size=382, metric="ROUGE-L",
        access="credentialed", licence="MIMIC-IV DUA applies (text posted by the authors)",
        sources=(REPO,),
        files=(DataFile("Hospitalization-Summarization.json", "ff3b2872b5e6c684f38c5a0e346c06d096468207b4debaf0a84ef96688ac3fb3",
                        access="credentialed", note=_MIMIC_NOTE.format(f"{_CB}/Hospitalization-Summarization.json")),),
        loader="load_hospitalization", exemplars="leave-one-out",
        prompt="kit", prompt_source="kit wording after the paper's task description (Table 8 text unavailable; paraphrase: ≤200 words)",
        choices=_HELD + ("choice: the downloadable file holds MIMIC-IV notes: handled as credentialed (0600, never committed, "
                         "no non-local endpoint without opt-in)", "choice: input = the `instruct` field as released"),
    ),
    Dataset(
        name="patient-education", title="Patient Education", scenario="generation", task="patient education",
        answer=FreeText("document"), size=181, metric="ROUGE-L",
        access="credentialed", licence="MIMIC-III DUA applies (text posted by the authors)",
        sources=(REPO,),
        files=(DataFile("Patient-Education.csv", "374cd2f6f956a618cb49bff3cd25ecc6a7c77652e7c90682153126e559902297",
                        access="credentialed", note=_MIMIC_NOTE.format(f"{_CB}/Patient-Education.csv")),),
        loader="load_patient_education", exemplars="train",
        prompt="kit", prompt_source="kit wording after the paper's task description (Table 8 text unavailable; paraphrase: 3 components)",
        choices=("choice: the paper scores 181 of the 3,621 rows but does not say which: the kit takes a seeded draw of "
                 "181 rows (seed 0, loaders.PATIENT_EDUCATION_SEED); the remaining rows are the exemplar pool",
                 "choice: the file holds MIMIC-III text: handled as credentialed"),
    ),
    Dataset(
        name="bc5-disease", title="BC5-Disease NER", scenario="understanding", task="named entity recognition",
        answer=EntityList("Disease"), size=4797, metric="entity F1",
        access="public", licence="CC BY 4.0 (MTL-Bioinformatics-2016); BioCreative corpus free",
        sources=("https://github.com/cambridgeltl/MTL-Bioinformatics-2016", "https://huggingface.co/datasets/bigbio/bc5cdr"),
        files=(DataFile("test.tsv", "a530bf9e17a4122b101b09cedd5f3cf8e6307d6a0093146c33b8de2e69ec0fa3",
                        Url(f"{_MTL}/BC5CDR-disease-IOB/test.tsv", MTL_COMMIT),
                        also=("bc5-disease/BC5CDR-disease-IOB_test_first*_sentences.tsv",
                              "bc5cdr-disease/BC5CDR-disease-IOB_test_first*_sentences.tsv")),
               DataFile("train.tsv", "d630dafe7dd67e21350cc3278dbdcfadcccbb2b63d0fda83b2427853988e5ad9",
                        Url(f"{_MTL}/BC5CDR-disease-IOB/train.tsv", MTL_COMMIT), role="train")),
        loader="load_iob", exemplars="train",
        prompt="earlier-release", prompt_source=f"{_V1}/results/BC5-Disease.csv",
        choices=("choice: the listed entity strings are mapped back onto the sentence tokens (every occurrence tagged) "
                 "and scored with seqeval strict entity micro-F1; token-level F1 as the second figure",
                 "choice: the v1-era prompt asks for chemicals/genes/diseases; only Disease is gold, so extra "
                 "chemical mentions count as false positives (kept as the authors wrote it)",
                 "choice: 'i | …' lines with any index are accepted (models renumber)"),
    ),
    Dataset(
        name="ncbi-disease", title="NCBI-Disease NER", scenario="understanding", task="named entity recognition",
        answer=IobTags("Disease"), size=940, metric="entity F1",
        access="public", licence="CC BY 4.0 (MTL-Bioinformatics-2016); corpus US-Gov public domain",
        sources=("https://github.com/cambridgeltl/MTL-Bioinformatics-2016", "https://huggingface.co/datasets/bigbio/ncbi_disease"),
        files=(DataFile("test.tsv", "8f088ce45dc4746592188f9e69de3d89d87f3bb8f0ed8c4a287d018123fa148d",
                        Url(f"{_MTL}/NCBI-disease-IOB/test.tsv", MTL_COMMIT),
                        also=("ncbi-disease/NCBI-disease-IOB_test_first*_sentences.tsv",)),
               DataFile("train.tsv", "58379baf4614b8d757d93dd7a21b202849ca99f9b9d71b49185523ff5443300c",
                        Url(f"{_MTL}/NCBI-disease-IOB/train.tsv", MTL_COMMIT), role="train")),
        loader="load_iob", exemplars="train",
        prompt="earlier-release", prompt_source=f"{_V1}/results/NCBI-Disease.csv",
        choices=("choice: the v1-era prompt's mojibake quotes around @TEXT are written as “@TEXT”",
                 "choice: IOB answer lines are aligned to the sentence tokens left to right; unmatched tokens are O"),
    ),
    Dataset(
        name="ddi", title="DDI-2013", scenario="understanding", task="relation extraction",
        answer=DDI, size=5716, metric="micro-F1 (positive types)",
        access="public", licence="CC BY-NC 4.0 (DDICorpus)",
        sources=("https://github.com/isegura/DDICorpus", "https://huggingface.co/datasets/bigbio/ddi_corpus"),
        files=(DataFile("DDICorpus-2013.zip", "87fc63e32ebce20d9841c372e0c594ec72d60882ab5621550ca73c3eaf80ab60",
                        Url(f"{_RAW}/isegura/DDICorpus/{DDI_COMMIT}/DDICorpus-2013.zip", DDI_COMMIT)),),
        loader="load_ddi", exemplars="train",
        prompt="kit", prompt_source="kit wording after the paper's paraphrase (@DRUG$ masks; mechanism/effect/advise/int/none)",
        choices=("choice: one item per candidate pair of the 'Test for DDI Extraction task' XML; both drugs masked as "
                 "@DRUG$ (first span of a discontinuous offset)",
                 "choice: micro-F1 over the four positive types (DDI-2013 / BLURB); 'advice' accepted for 'advise'") + _LABEL,
    ),
    Dataset(
        name="gad", title="GAD", scenario="understanding", task="relation extraction",
        answer=GAD, size=534, metric="F1 (positive class)",
        access="public", licence="CC BY 4.0 (BigBIO card)",
        sources=("https://huggingface.co/datasets/bigbio/gad",),
        files=(DataFile("test.tsv", "68fe2b2bddefac2cd5d35b4bc8a13bceee95ee9a582a623632981e893cdb512e", _GAD_ZIP, member="GAD/1/test.tsv"),
               DataFile("train.tsv", None, _GAD_ZIP, role="train", member="GAD/1/train.tsv")),
        loader="load_gad", exemplars="train",
        prompt="kit", prompt_source="kit wording after the paper's paraphrase (@GENE$/@DISEASE$, yes/no)",
        choices=("choice: label 1 → yes, 0 → no; F1 of the 'yes' class",) + _LABEL,
    ),
    Dataset(
        name="hoc", title="Hallmarks of Cancer", scenario="understanding", task="document classification",
        answer=HOC, size=315, metric="example-based F1 (BLUE)",
        access="public", licence="GPL-3.0 (HoC corpus); BLUE code public domain",
        sources=("https://github.com/ncbi-nlp/BLUE_Benchmark/releases/tag/0.1", "https://github.com/sb895/Hallmarks-of-Cancer"),
        files=(DataFile("test.tsv", None, _BLUE_ZIP, member="hoc/test.tsv"),
               DataFile("train.tsv", None, _BLUE_ZIP, role="train", member="hoc/train.tsv")),
        loader="load_hoc", exemplars="train",
        prompt="earlier-release", prompt_source=f"{_V1}/results/hoc.csv",
        choices=("choice: BLUE's sentence rows are grouped into documents (id before '_'), text joined by spaces, "
                 "labels united", "choice: BLUE's divide-by-zero cases defined in clue.answers.labelset"),
    ),
    Dataset(
        name="pharmacology-qa", title="Pharmacology QA for Emerging Drugs", scenario="understanding", task="pharmacology QA",
        answer=OPTION, size=213, metric="accuracy",
        access="released-by-authors", licence="repo Apache-2.0 (later commit); `description` is DrugBank text",
        sources=(REPO,),
        files=(DataFile("Pharmacology-QA.xlsx", "ad9346a63ed54cbe81a8057bf043e3eb147ea89c87de03808ccb4164dda326bb",
                        Url(f"{_CB}/Pharmacology-QA.xlsx", CB_COMMIT)),),
        loader="load_pharmacology", exemplars="leave-one-out",
        prompt="kit", prompt_source="kit wording (Table 8 wording unavailable)",
        choices=_HELD + ("choice: the `description` column is not shown to the model (the paper tests knowledge of new drugs)",
                         "the constant answer B scores 135/213 = 63.4 % (baselines.py)") + _MC_CHOICE,
    ),
    Dataset(
        name="drug-interaction", title="Drug Interaction for Emerging Drugs", scenario="understanding", task="drug interaction",
        answer=YES_NO, size=200, metric="accuracy",
        access="released-by-authors", licence="repo Apache-2.0 (later commit)",
        sources=(REPO,),
        files=(DataFile("Drug-Interaction-for-Emerging-Drugs.csv",
                        "a37e1b253eeb8d2b7f34e36fc8085ee6a19424f9d3cd814bdb431d59d40310e0",
                        Url(f"{_CB}/Drug-Interaction-for-Emerging-Drugs.csv", CB_COMMIT)),),
        loader="load_drug_interaction", exemplars="leave-one-out",
        prompt="kit", prompt_source="kit wording (Table 8 has an unfilled placeholder about the vaccine)",
        choices=_HELD + ("the file is sorted (100 yes, then 100 no): exemplars are a seeded, label-stratified draw, never the head",
                         "choice: the placeholder description of the vaccine is left out") + _LABEL,
    ),
)

BY_NAME = {d.name: d for d in DATASETS}


def get(name: str) -> Dataset:
    from clue.errors import ConfigError

    try:
        return BY_NAME[name]
    except KeyError:
        raise ConfigError(f"unknown ClinicBench dataset {name!r}", f"one of: {', '.join(BY_NAME)}") from None


def exemplar_source(d: Dataset) -> str:
    """Where a few-shot run's exemplars come from, as `clue tasks` says it (every test item is scored either way)."""
    if d.exemplars in ("train", "dev"):
        return f"{d.exemplars} split (leave-one-out if absent)"
    return d.exemplars


def format_table() -> str:
    """The listing `clue tasks --benchmark clinicbench` is meant to print: one row per dataset with its access level."""
    rows = [("dataset", "scenario", "items", "metric", "access", "prompt", "exemplars")]
    rows += [(d.name, d.scenario, f"{d.size:,}", d.metric, d.access, d.prompt, exemplar_source(d)) for d in DATASETS]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)
