"""`clue.serve`: the public face of clue.serving (the inference-container package), kept for its importers.

Everything here is re-exported from clue/serving/; see that package for the contract.
"""

from clue.serving import *  # noqa: F403
from clue.serving import __all__  # noqa: F401
