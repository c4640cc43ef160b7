"""Run the fake server as a process: ``python tests/fakeserver [--port 0 …]`` (the folder, by path) or
``python -m tests.fakeserver``; flags and output as ``controller.main`` documents (``READY <url>``, then one
JSON stats line on SIGTERM/SIGINT)."""

import sys
from pathlib import Path

if __package__:  # python -m tests.fakeserver (or -m fakeserver with tests/ on the path)
    from .controller import main
else:  # run by path: the folder itself is sys.path[0]; import the package from its parent folder instead
    sys.path[0] = str(Path(__file__).resolve().parent.parent)
    from fakeserver.controller import main

sys.exit(main())
