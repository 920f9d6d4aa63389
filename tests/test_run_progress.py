"""The status bar's arithmetic: progress fraction, ETA and speed, with paused time left out."""

from __future__ import annotations

import pytest

import app.training.run_progress as rp
from app.training.run_progress import RunProgress, format_seconds
from trainers.spec.events import BatchEnded, EpochEnded, FitStarted


def test_eta_and_speed_leave_paused_time_out(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(rp.time, "monotonic", lambda: now[0])
    p = RunProgress.begin()
    p.update([FitStarted(1, 4, 10, 640, 64, 64, 1000, "cpu")])
    p.update([BatchEnded(1, b, b, 1.0, 0.1, 1.0, 64) for b in range(1, 11)])
    p.update([EpochEnded(1, 1.0, 0.5, 1.0, 0.5, 0.1, 10.0, 64.0, True)])
    now[0] = 110.0
    p.pause()
    now[0] = 500.0  # a long pause
    assert p.elapsed == pytest.approx(10.0)
    p.resume()
    assert (p.epoch, p.batch, p.fraction) == (1, 0, 0.25)
    assert p.eta == pytest.approx(30.0)  # 10 s for a quarter of the run
    assert p.samples_per_sec == pytest.approx(64.0)
    assert "ETA 0:30" in p.status_text()


def test_nothing_known_before_the_first_event() -> None:
    p = RunProgress()
    assert p.fraction == 0.0 and p.eta is None and p.elapsed == 0.0
    assert format_seconds(3725) == "1:02:05" and format_seconds(65) == "1:05"
