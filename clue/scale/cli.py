"""Registration of `clue slurm …` and `clue k8s …` with the main command line."""

from __future__ import annotations

import argparse
from typing import Any


def add_parsers(sub: Any) -> None:
    from clue.scale import k8s, slurm

    slurm.add_parser(sub)
    k8s.add_parser(sub)


def run_command(args: argparse.Namespace) -> int:
    if args.command == "slurm":
        from clue.scale.slurm import cmd_slurm

        return cmd_slurm(args)
    from clue.scale.k8s import cmd_k8s

    return cmd_k8s(args)
