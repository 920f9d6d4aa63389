"""Entry point of the frozen app: the same `tunelab` command that `pip install` creates."""

from __future__ import annotations

import multiprocessing
import sys

from app.__main__ import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # spawn-started workers (Windows, macOS) re-enter the executable here
    sys.exit(main())
