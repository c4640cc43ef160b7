"""What every task provides, and the shared machinery to turn samples into requests.

A task subclasses `Task` (or one of the kinds in `clue.tasks.kinds`), declares its data files,
prompt folder and metrics, and implements `load` and `score`. Few-shot selection (`split`, see
`clue.tasks.fewshot`), request building (`build`) and aggregation are shared here; a benchmark with
historical rules (CLUE's eras and quirks) overrides the small hooks below, never the core's code.

Prompts: `<prompt_root>/<name>/{system,user,assistant,prefix}.j2` (see `clue.prompts`). Zero-shot
and base-model (plain text) prompts are allowed; a benchmark's own protocol may refuse them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Callable, ClassVar, Generic, Iterable, Iterator, Mapping, Sequence, TypeVar, cast

from clue import prompts
from clue.chat_template import ChatTemplate
from clue.errors import ConfigError, DataError
from clue.metrics.aggregate import task_mean
from clue.protocol import RunProtocol
from clue.tasks import fewshot
from clue.tasks.fewshot import Split
from clue.tasks.fit import FitReport, fit_document
from clue.types import Endpoint, GenParams, Request, Sample


@dataclass(frozen=True)
class BuildContext:
    """Everything besides the samples that shapes a request."""

    endpoint: Endpoint
    profile: RunProtocol  # the run's protocol (a benchmark's protocol type, e.g. CLUE's ClueProfile)
    mode: prompts.Mode
    send: str  # "prompt" (TGI native route, template rendered here) or "messages" (OpenAI-compatible)
    chat_template: ChatTemplate | None = None
    max_position_embeddings: int | None = None
    temperature: float | None = None
    seed: int | None = None
    tokenizer: Any = None  # tokenizers.Tokenizer of the evaluated model, for tasks with needs_tokenizer
    draw_seed: int | None = None  # unseeded protocols: the run directory's own random draw, kept so a re-run resumes
    decode_cleanup: bool | None = None  # the model's tokenizer_config `clean_up_tokenization_spaces` (None: unset/unknown)
    tokenizer_class: str | None = None  # the same config's `tokenizer_class` (its default applies when the flag is unset)
    prefill: bool = False  # messages: the generation prefix goes as a final assistant message the server continues


class Built(list):  # type: ignore[type-arg]
    """The requests of one `build()`, plus `record`: how the build drew, counted or cut (run.json's
    task_build), or None. Returned, never stored on the (shared) task object."""

    def __init__(self, requests: Sequence[Request] = (), record: dict[str, Any] | None = None):
        super().__init__(requests)
        self.record = record


class Building:
    """A task's requests, rendered as they are first taken: any pass over it yields them all, in order (the run's
    pass renders them `TAKE` at a time while the first ones are in flight); `finish()` renders whatever is left and
    returns them as `build()` would, with its record."""

    def __init__(self, requests: Iterable[Request], record: Callable[[], dict[str, Any] | None], expected: int):
        self._pending, self._record, self.expected = iter(requests), record, expected
        self._taken: list[Request] = []

    @classmethod
    def at_once(cls, built: Built) -> Building:
        return cls(built, lambda: built.record, len(built))

    def __iter__(self) -> Iterator[Request]:
        i = 0
        while True:
            if i == len(self._taken):
                request = next(self._pending, None)
                if request is None:
                    return
                self._taken.append(request)
            yield self._taken[i]
            i += 1

    def finish(self) -> Built:
        self._taken.extend(self._pending)
        return Built(self._taken, self._record())


P = TypeVar("P", bound=RunProtocol)  # the protocol type of a benchmark's tasks (CLUE: ClueProfile)


class Task(Generic[P]):
    """A task of protocol type `P`: the hooks below receive the run's protocol as that type."""

    name: ClassVar[str]
    title: ClassVar[str]  # the benchmark's name for it, as in its published numbers
    files: ClassVar[tuple[str, ...]]
    source: ClassVar[str]  # where to get the files
    credentialed: ClassVar[bool] = False
    generation: ClassVar[bool] = False  # free-text outputs clinicians can rate (scores.json records it for `clue ratings`)
    metrics: ClassVar[tuple[str, ...]]
    kind: ClassVar[str] = "generation"  # multiple_choice | label_set | extraction | generation (clue.tasks.kinds)
    prompt_root: ClassVar[Path]  # folder holding <name>/*.j2
    k: ClassVar[int] = 0  # default few-shot examples (`--shots` overrides where the protocol allows)
    fewshot_choice: ClassVar[bool] = True  # the user may choose the shots and their draw (False: --shots refused)
    max_tokens: ClassVar[int] = 512  # max new tokens (`new_tokens` may vary it by protocol)
    needs_tokenizer: ClassVar[bool] = False  # builds prompts to a token budget
    reports_extraction: ClassVar[bool] = False  # counts outputs with no extractable answer (`extraction_failure`)
    corpus_keys: ClassVar[tuple[str, ...]] = ()  # per-sample counts whose means give corpus-level metrics (`from_means`)

    # --- per-task behaviour -------------------------------------------------------------
    def load(self, data_dir: Path) -> list[Sample]:
        """The evaluated (test) items."""
        raise NotImplementedError

    def load_pool(self, data_dir: Path) -> list[Sample] | None:
        """The train/dev items shots are drawn from; None when the dataset has no such split."""
        return None

    def score(self, output: str, sample: Sample, profile: P) -> dict[str, float]:
        raise NotImplementedError

    def warm(self) -> None:
        """Load what scoring will need (heavy imports) ahead of time. A run calls it in a thread while its
        requests are in flight, so the imports overlap the wait for answers; scoring works without it.
        Default: rouge-score, for a task that reports ROUGE (every ROUGE figure comes from clue.metrics.rouge)."""
        if any(m.startswith("rouge") for m in self.metrics):
            from clue.metrics import rouge

            rouge.warm()

    def score_all(self, outputs: Sequence[str], samples: Sequence[Sample], profile: P) -> list[dict[str, float]]:
        """Per-sample scores for a whole task at once. Override to add batched metrics (BERTScore,
        UMLS); metrics whose optional stack is missing are left out and named by `skipped_metrics`."""
        return [self.score(o, s, profile) for o, s in zip(outputs, samples)]

    def scores_item_by_item(self, profile: P) -> bool:
        """Whether `score_all`'s row for an item is `score` of that item alone, on this machine (no batched metric
        such as BERTScore runs): a run may then score each completion as it lands (clue/live_scores.py).
        Default: when `score_all` is this class's own, one `score` per item."""
        return type(self).score_all is Task.score_all

    def from_means(self, means: Mapping[str, Any]) -> dict[str, Any]:
        """Corpus-level metrics (micro-F1, …) from the means of the per-sample `corpus_keys`. Written so it works
        on floats and on numpy arrays alike: the report's bootstrap passes each key's replicate means, so a corpus
        figure's CI resamples items and recomputes the figure (clue/stats.py)."""
        raise NotImplementedError

    def extraction_failure(self, output: str, sample: Sample, profile: P) -> str | None:
        """Why no answer could be extracted from `output`, or None. With `reports_extraction` the run records
        it per sample (samples.jsonl `extraction_failed` and the reason, `extraction_failure`) and counts it per task (scores.json
        `extraction_failures`); how a failure is scored is the task's `score` rule."""
        return None

    def skipped_metrics(self, profile: P) -> dict[str, str]:
        """{metric: how to enable it} for metrics this run cannot compute (never a silent zero)."""
        return {}

    def baseline(self, sample: Sample, shots: Sequence[Sample]) -> str:
        """The parameterless baseline's answer (each task documents its rule); None-rule tasks raise."""
        raise ConfigError(f"the baseline engine has no rule for {self.title}", "run it with a model engine")

    def write_synthetic(self, records: list[dict], path: Path) -> None:
        """Write bundled synthetic records in this task's original file format (for demos and tests)."""
        raise NotImplementedError

    def cluster(self, sample_id: str) -> str:
        """The bootstrap cluster of a sample (items that are repetitions of one question share one)."""
        return sample_id

    def decodes_cut_documents(self, profile: P) -> bool:
        """True when building needs the model's decode clean-up flag (`BuildContext.decode_cleanup`)."""
        return False

    def truncate(self, max_position_embeddings: int) -> int | None:
        """T, the prompt-token limit, from the model's context; None = no limit."""
        return None

    def context_limit(self, ctx: BuildContext) -> int | None:
        """T, the prompt-token limit the protocol's truncation applies (TGI route, context known); None
        otherwise. `keep_last` passes it as TGI's `truncate`, `cut_document` fits prompts to it client-side."""
        if ctx.profile.truncation == "off" or ctx.send != "prompt" or not ctx.max_position_embeddings:
            return None
        return self.truncate(ctx.max_position_embeddings)

    def new_tokens(self, profile: P) -> int:
        return self.max_tokens

    def postprocess_sample(self, text: str, sample: Sample, profile: P, model: str) -> str:
        """The text that is scored (default: the raw output)."""
        return text

    # --- prompts ----------------------------------------------------------------------------
    @property
    def prompt_dir(self) -> Path:
        return self.prompt_root / self.name

    def render(self, part: str, fields: Mapping[str, Any] | None = None) -> str:
        return prompts.render_file(self.prompt_dir, part, fields)

    def template_hashes(self) -> dict[str, str]:
        return prompts.template_hashes_in(self.prompt_dir)

    def user_part(self, profile: P) -> str:
        """Template file of the user turns."""
        return "user"

    def assistant_part(self, profile: P) -> str:
        """Template file of the few-shot answers."""
        return "assistant"

    def prefix(self, profile: P) -> str:
        """Generation prefix, appended right after the rendered generation prompt when the protocol prefills."""
        return self.render("prefix") if profile.prefill and (self.prompt_dir / "prefix.j2").is_file() else ""

    def base_prompt(self, system: str, shots: Sequence[prompts.Turn], query: str, prefix: str, profile: P) -> str:
        """Plain-text prompt for base models (zero-shot allowed)."""
        return prompts.assemble_base(system, shots, query, prefix)

    def document_fields(self, profile: P) -> tuple[str, ...]:
        """The evaluated item's fields that `cut_document` cuts, from their end and in this order, when a
        prompt is too long (empty: never cut)."""
        return ()

    # --- shared machinery ---------------------------------------------------------------
    def path(self, data_dir: Path, filename: str | None = None) -> Path:
        path = Path(data_dir) / self.name / (filename or self.files[0])
        if not path.is_file():
            raise DataError(f"{self.title} data file {path} is missing", f"get it from {self.source}")
        return path

    def split(self, samples: Sequence[Sample], profile: P, shots: int | None = None,
              pool: Sequence[Sample] | None = None, seeds: Sequence[int] | None = None) -> Split:
        """Few-shot selection (clue.tasks.fewshot): `shots` (default k), one draw per seed (default: the protocol's)."""
        return fewshot.select(samples, self.k if shots is None else shots, seeds or (profile.shot_seed,), pool, self.title,
                              self.stratum)

    def prepare(self, data_dir: Path, profile: P, shots: int | None = None, seeds: Sequence[int] | None = None) -> Split:
        """Load the data and pick the shots for one run (`seeds`: `--fewshot-seed`, several draws in one run)."""
        self.check_fewshot(shots, seeds)
        if not self.fewshot_choice:
            return self.split(self.load(data_dir), profile, None, self.load_pool(data_dir))
        return self.split(self.load(data_dir), profile, shots, self.load_pool(data_dir), seeds)

    def check_fewshot(self, shots: int | None, seeds: Sequence[int] | None) -> None:
        """--shots / --fewshot-seed are refused where the protocol fixes the shots (`fewshot_choice` False)."""
        if self.fewshot_choice:
            return
        seed_text = ",".join(str(s) for s in seeds) if seeds is not None else None
        given = " ".join(f"{flag} {value}" for flag, value in (("--shots", shots), ("--fewshot-seed", seed_text)) if value is not None)
        if given:
            raise ConfigError(f"{self.title}'s protocol fixes its few-shot examples (k = {self.k}; {given} was given)",
                              "leave --shots and --fewshot-seed out for this benchmark")

    def stratum(self, sample: Sample) -> Any:
        """The label a leave-one-out exemplar draw is stratified by (a small label set), or None: a plain draw."""
        return None

    def gen_params(self, ctx: BuildContext, truncate: int | None) -> GenParams:
        profile = cast(P, ctx.profile)
        return GenParams(
            max_new_tokens=self.new_tokens(profile),
            stop=profile.stop_for(ctx.endpoint.model),
            temperature=ctx.temperature if ctx.temperature is not None else profile.temperature,
            seed=ctx.seed if ctx.seed is not None else profile.seed,
            truncate=truncate,
        )

    def build(self, split: Split, ctx: BuildContext) -> Built:
        """Every request of this task's run, rendered."""
        return self._building(split, ctx).finish()

    def building(self, split: Split, ctx: BuildContext) -> Building:
        """`build`'s requests rendered one by one as they are taken, so a run sends the first while the rest render.
        What can refuse the build is checked here, first. A task that overrides `build`, and prompts cut to fit the
        context (cut_document: a document that cannot fit stops the run before anything is sent), render here, all."""
        if type(self).build is not Task.build:
            return Building.at_once(self.build(split, ctx))
        return self._building(split, ctx)

    def _building(self, split: Split, ctx: BuildContext) -> Building:
        profile = cast(P, ctx.profile)
        user, assistant = self.user_part(profile), self.assistant_part(profile)
        system = self.render("system")
        turns: dict[int, prompts.Turn] = {}  # each exemplar rendered once (leave-one-out shares them across items)

        def shots_of(sample: Sample) -> list[prompts.Turn]:
            out = []
            for s in split.shots_for(sample.id):
                if id(s) not in turns:
                    turns[id(s)] = prompts.Turn(self.render(user, s.fields), self.render(assistant, s.fields))
                out.append(turns[id(s)])
            return out

        prefix = self.prefix(profile)
        limit = self.context_limit(ctx)
        truncate = limit if profile.truncation == "keep_last" else None
        budget = limit if profile.truncation == "cut_document" else None
        doc_fields = self.document_fields(profile)
        fitting = None
        record: dict[str, Any] | None = dict(split.how) or None
        if budget is not None and doc_fields:
            if ctx.tokenizer is None:  # `clue run` always loads it for this protocol; direct library use may not
                record = {"q8": "cut_document", "budget_tokens": budget, "checked": False,
                          "why": "no tokenizer: prompt lengths were not checked against the context"}
            else:
                fitting = FitReport(budget=budget, document_fields=doc_fields)
        params = self.gen_params(ctx, truncate)
        if ctx.mode == "base" and ctx.send != "prompt":
            raise ConfigError("base-model prompts need a route that takes the rendered prompt",
                              "use --engine tgi, or --route completions with openai, or an instruct --mode")
        if ctx.mode != "base" and ctx.send == "prompt" and ctx.chat_template is None:
            raise ConfigError("the tgi engine needs the model's chat template", "pass --chat-template FILE or --mode base")

        def render_prompt(fields: Mapping[str, Any], shots: Sequence[prompts.Turn]) -> str:
            query = self.render(user, fields)
            if ctx.mode == "base":
                return self.base_prompt(system, shots, query, prefix, profile)
            msgs = prompts.assemble_messages(system, shots, query, ctx.mode)
            assert ctx.chat_template is not None
            return ctx.chat_template.render(msgs, add_generation_prompt=True, strip_bos=not profile.double_bos) + prefix

        def each() -> Iterator[Request]:
            for sample in split.evaluated:
                yield Request(task=self.name, sample_id=sample.id, params=params, protocol=profile.name,
                              endpoint=ctx.endpoint, **sent(sample))

        def sent(sample: Sample) -> dict[str, Any]:
            prompt = messages = None
            shots = shots_of(sample)
            if ctx.send != "prompt":
                messages = tuple(prompts.assemble_messages(system, shots, self.render(user, sample.fields), ctx.mode))
                if ctx.prefill and prefix:
                    messages += ({"role": "assistant", "content": prefix},)
            elif fitting is not None:
                prompt = fit_document(partial(render_prompt, shots=shots), sample.fields, doc_fields, ctx.tokenizer,
                                      fitting.budget, sample.id, fitting)
            else:
                prompt = render_prompt(sample.fields, shots)
            return {"prompt": prompt, "messages": messages}

        if fitting is None:
            return Building(each(), lambda: record, len(split.evaluated))
        requests = list(each())
        return Building.at_once(Built(requests, fitting.as_dict()))

    def aggregate(self, per_sample: Sequence[Mapping[str, float]], profile: P) -> dict[str, float | None]:
        """Task score per metric over the scored samples (failed ones are excluded, not zeroed)."""
        out: dict[str, float | None] = {}
        skipped = self.skipped_metrics(profile)
        for metric in self.metrics:
            if metric in skipped:
                continue
            out[metric] = task_mean([s[metric] for s in per_sample if metric in s], double_count_first=False)
        return out
