"""`tunelab`: a subcommand runs the headless CLI (Qt is never imported for it)."""

from __future__ import annotations

import sys
from typing import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from trainers.cli import main as cli_main
    return cli_main(list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
