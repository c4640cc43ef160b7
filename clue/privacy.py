"""Which files written from a run are private: the one rule (report, the files it keeps beside each run, ratings).

A task's source text must not leave the machine, and files that hold it are owner-only (0600/0700), when any
installed benchmark marks the task credentialed, or when no installed benchmark knows the task at all. A flag a
file carries (a run's `credentialed` entry, a ratings key's) can only make a file stricter, never public.
"""

from __future__ import annotations


def credentialed_tasks(names: set[str]) -> set[str]:
    """Task names whose source text must not leave the machine: the one rule for what a file written from a run is
    (report, its kept columns, ratings): credentialed where any installed benchmark marks the task so, and where no
    installed benchmark knows the task at all."""
    from clue.benchmark import benchmarks

    known: dict[str, bool] = {}
    for bench in benchmarks().values():
        for name, task in bench.tasks.items():
            known[name] = known.get(name, False) or task.credentialed  # a name two benchmarks share: stricter wins
    return {n for n in names if known.get(n, True)}
