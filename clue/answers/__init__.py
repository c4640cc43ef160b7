"""Answer kinds: one object per kind of answer, holding its strict reading rule, per-sample scoring, corpus
figures and floor (see `base.AnswerKind`). A task holds one; benchmarks configure them as data."""

from clue.answers.base import AnswerKind, Extraction
from clue.answers.drugs import DrugList
from clue.answers.entities import EntityList
from clue.answers.iob import IobTags
from clue.answers.items import ItemList
from clue.answers.label import ClosedLabel
from clue.answers.labelset import LabelSet
from clue.answers.option import OptionLetter
from clue.answers.text import FreeText

__all__ = ["AnswerKind", "ClosedLabel", "DrugList", "EntityList", "Extraction", "FreeText", "IobTags", "ItemList",
           "LabelSet", "OptionLetter"]
