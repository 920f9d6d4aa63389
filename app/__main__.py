"""`tunelab`: no arguments open the window; --self-test checks the install; a subcommand runs the
headless CLI (which never imports Qt)."""

from __future__ import annotations

import sys
from typing import Sequence

GUI_USAGE = """usage: tunelab                 open the TuneLab window
       tunelab --self-test     train 2 epochs on the bundled digits in an offscreen window and report
       tunelab COMMAND ...     run a headless command (below)
"""


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        from app.launch import run_gui

        return run_gui()
    if args == ["--self-test"]:
        from app.self_test import run_self_test

        return run_self_test()
    if args[0] in ("-h", "--help"):
        print(GUI_USAGE)
    from trainers.cli.main import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
