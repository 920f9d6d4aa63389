"""The commands' exit codes by trial status: 0 completed, 1 failed, 3 diverged, 130 stopped (as after Ctrl+C).
Bad flags or a bad config exit 2 before any trial exists."""

EXIT_CODES = {"completed": 0, "failed": 1, "diverged": 3, "stopped": 130}


def exit_code(status: str) -> int:
    """Any other status (none is expected) counts as a failure."""
    return EXIT_CODES.get(status, 1)
