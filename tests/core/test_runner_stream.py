"""Requests sent as they render: the runner takes them one, then TAKE at a time, a task's Building renders them as taken.

Whatever the order of rendering and sending, the same requests are answered once each, the store's answers
are reused, and the requests a task builds are the ones `build()` gives."""

from __future__ import annotations

from typing import Iterator

import pytest

from clue.runner import TAKE, Runner
from clue.store import Store
from clue.tasks import Building, Built
from clue.types import Completion, Request
from tests.core.test_runner import FAST, ScriptedEngine, requests


class Rendering:
    """Yields `reqs` one at a time, counting how many were rendered (taken) so far."""

    def __init__(self, reqs: list[Request], fail_at: int | None = None):
        self.reqs, self.fail_at, self.rendered = reqs, fail_at, 0

    def __iter__(self) -> Iterator[Request]:
        for i, r in enumerate(self.reqs):
            if i == self.fail_at:
                raise ValueError(f"cannot render item {i}")
            self.rendered += 1
            yield r


class Watching(ScriptedEngine):
    """Notes how many requests were rendered when the first one reached the engine."""

    def __init__(self, rendering: Rendering):
        super().__init__()
        self.rendering, self.rendered_at_first_send = rendering, None

    async def generate(self, request: Request) -> Completion:
        if self.rendered_at_first_send is None:
            self.rendered_at_first_send = self.rendering.rendered
        return await super().generate(request)


@pytest.mark.anyio
async def test_the_first_request_leaves_before_the_later_ones_render(tmp_path):
    reqs = requests(10 * TAKE)
    rendering = Rendering(reqs)
    engine = Watching(rendering)
    runner = Runner(engine, Store(tmp_path / "s.sqlite"), concurrency=8, policy=FAST, progress=False)
    done = await runner.run(rendering, expected=len(reqs))
    assert engine.rendered_at_first_send == 1  # the first request alone (the fail-fast probe), not all 320
    assert set(done) == {r.key for r in reqs} and all(c.text == f"answer to {r.prompt}" for r, c in zip(reqs, (done[r.key] for r in reqs)))
    assert sorted(engine.calls) == sorted(r.prompt for r in reqs)  # each sent once
    assert runner.stats.requests == len(reqs) and runner.stats.completed == len(reqs)


@pytest.mark.anyio
async def test_duplicates_across_batches_are_sent_once_and_the_store_answers_first(tmp_path):
    reqs = requests(3 * TAKE)
    store = Store(tmp_path / "s.sqlite")
    cached = reqs[TAKE + 3: TAKE + 9]  # in the second batch
    store.put_many([(r, Completion(text="stored")) for r in cached])
    stream = [*reqs, reqs[0], reqs[TAKE + 4], reqs[-1]]  # repeats in later batches, one of them a stored answer
    landed: list[tuple[Request, Completion]] = []
    engine = ScriptedEngine()
    runner = Runner(engine, store, concurrency=4, policy=FAST, progress=False, on_landed=landed.extend)
    done = await runner.run(iter(stream))
    assert len(done) == len(reqs) and runner.stats.requests == len(reqs) and runner.stats.cached == len(cached)
    assert all(done[r.key].text == "stored" and done[r.key].cached for r in cached)
    assert sorted(engine.calls) == sorted(r.prompt for r in reqs if r not in cached)
    assert sorted(r.key for r, _ in landed) == sorted(r.key for r in reqs)  # every answer handed over once, stored ones too


@pytest.mark.anyio
async def test_a_request_that_cannot_render_stops_the_run_and_keeps_what_landed(tmp_path):
    reqs = requests(4 * TAKE)
    store = Store(tmp_path / "s.sqlite")
    runner = Runner(ScriptedEngine(), store, concurrency=4, policy=FAST, progress=False)
    with pytest.raises(ValueError, match="cannot render item 70"):
        await runner.run(Rendering(reqs, fail_at=70))
    kept = store.count()
    assert 0 < kept <= 65  # sent from the batches before the failing one only (1, 32, 32); every answer that landed is stored
    assert set(store.get_many(r.key for r in reqs)) <= {r.key for r in reqs[:65]}


def test_a_building_renders_each_request_once_and_every_pass_sees_them_all():
    reqs = requests(7)
    rendering = Rendering(reqs)
    building = Building(rendering, lambda: {"drawn": True}, expected=7)
    first = iter(building)
    assert [next(first) for _ in range(3)] == reqs[:3] and rendering.rendered == 3
    assert list(building) == reqs  # a second pass: the three taken, then the rest rendered
    built = building.finish()
    assert isinstance(built, Built) and list(built) == reqs and built.record == {"drawn": True}
    assert list(first) == reqs[3:] and rendering.rendered == 7  # the first pass goes on where it was
    assert list(Building.at_once(Built(reqs, None))) == reqs


def test_a_task_building_as_taken_gives_the_requests_build_gives(tmp_path):
    """MeQSum on its bundled synthetic items, rendered with a chat template: the same keys, prompts and record."""
    from clue.benchmark import get_benchmark
    from clue.chat_template import ChatTemplate
    from clue.tasks import BuildContext
    from clue.types import Endpoint
    from tests.conftest import chat_template_file

    bench = get_benchmark("clue")
    profile, task = bench.get_protocol(None), bench.get_tasks("meqsum")[0]
    data = bench.synthetic(tmp_path / "synthetic")
    split = task.prepare(data, profile)
    ctx = BuildContext(endpoint=Endpoint("tgi", "m", "r"), profile=profile, mode="instruct-system", send="prompt",
                       chat_template=ChatTemplate.from_file(chat_template_file(tmp_path)), max_position_embeddings=4096)
    built = task.build(split, ctx)
    building = task.building(split, ctx)
    taken = [r.key for r in building]
    assert len(built) == split.n_items > TAKE // 8 and taken == [r.key for r in built]
    assert [r.prompt for r in building.finish()] == [r.prompt for r in built] and building.finish().record == built.record
