"""The CPU thread policy: train.threads = 0 means "automatic", resolved so a run does not collapse when the cores
are shared (the window's own thread, a second job); an explicit count is honoured. Not a timing test."""

from __future__ import annotations

import threading

import pytest
import torch

from trainers.jobs import setup
from trainers.jobs.setup import THREAD_CAP, resolve_threads, torch_threads


@pytest.mark.parametrize(("cores", "expected"), [(1, 1), (2, 1), (3, 2), (4, 3), (8, 7), (64, THREAD_CAP)])
def test_auto_leaves_a_core_for_the_rest_of_the_machine(cores: int, expected: int) -> None:
    assert resolve_threads(0, cores=cores, other_jobs=0, env={}) == expected


def test_auto_is_one_thread_beside_another_job() -> None:
    assert resolve_threads(0, cores=16, other_jobs=1, env={}) == 1


def test_an_explicit_count_is_honoured() -> None:
    assert resolve_threads(3, cores=2, other_jobs=0, env={}) == 3
    assert resolve_threads(12, cores=64, other_jobs=2, env={}) == 12


def test_omp_num_threads_set_by_the_user_wins_over_auto() -> None:
    assert resolve_threads(0, cores=16, other_jobs=0, env={"OMP_NUM_THREADS": "5"}) == 5
    assert resolve_threads(2, cores=16, other_jobs=0, env={"OMP_NUM_THREADS": "5"}) == 2
    # a value that is not a positive count is ignored, as OpenMP itself ignores it
    assert resolve_threads(0, cores=16, other_jobs=0, env={"OMP_NUM_THREADS": "lots"}) == THREAD_CAP


def test_physical_cores_is_a_positive_count_no_larger_than_the_usable_cpus() -> None:
    import os

    assert 1 <= setup.physical_cores() <= len(os.sched_getaffinity(0))


def test_a_job_runs_with_the_resolved_count_and_restores_torch_afterwards(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(setup, "physical_cores", lambda: 4)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    with torch_threads(0):
        assert torch.get_num_threads() == 3
    with torch_threads(2):
        assert torch.get_num_threads() == 2
    assert torch.get_num_threads() == before


def test_a_second_job_in_the_process_gets_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(setup, "physical_cores", lambda: 4)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    entered, release = threading.Event(), threading.Event()

    def first_job() -> None:
        with torch_threads(0):
            entered.set()
            release.wait(10)

    t = threading.Thread(target=first_job)
    t.start()
    try:
        assert entered.wait(10)
        with torch_threads(0):
            assert torch.get_num_threads() == 1
    finally:
        release.set()
        t.join(10)
    with torch_threads(0):
        assert torch.get_num_threads() == 3  # the first job has ended: alone again


@pytest.mark.slow
@pytest.mark.parametrize(("preset", "expected"), [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_the_entry_point_sets_a_passive_wait_policy_before_torch_loads(preset: str | None, expected: str) -> None:
    import os
    import subprocess
    import sys

    code = (
        "import os, sys\n"
        "import app.__main__ as entry\n"
        "loaded = 'torch' in sys.modules\n"
        "import trainers.cli.main as cli\n"
        "cli.main = lambda args: print(os.environ.get('OMP_WAIT_POLICY'), loaded) or 0\n"
        "sys.exit(entry.main(['history']))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if preset:
        env["OMP_WAIT_POLICY"] = preset
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == [expected, "False"]
