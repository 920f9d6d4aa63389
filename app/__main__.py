"""`tunelab`: a subcommand runs the headless CLI (Qt is never imported for it)."""

from __future__ import annotations

import sys
from typing import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--version"]:
        from app.version import VERSION
        print(f"tunelab {VERSION}")
        return 0
    from trainers.cli import main as cli_main
    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
