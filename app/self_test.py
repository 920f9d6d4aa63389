"""`tunelab --self-test`: the installer's smoke test. Offscreen, it builds the real main window, trains
2 epochs on the bundled digits through the real job runner into a temporary store, checks that the plots
received data and the trial was stored, prints one line and exits 0 (1 on any failure)."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

SELF_TEST_EPOCHS = 2
TIMEOUT_MS = 300_000


def run_self_test() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    with tempfile.TemporaryDirectory(prefix="tunelab-self-test-") as tmp:
        os.environ["TUNELAB_DATA_DIR"] = tmp  # settings and checkpoints stay out of the user's folder
        try:
            line = _check(Path(tmp) / "trials.db")
        except Exception as exc:
            print(f"tunelab self-test FAILED: {type(exc).__name__}: {exc}")
            return 1
    print(line)
    return 0


def _check(db: Path) -> str:
    from PySide6.QtCore import QEventLoop, QTimer, qInstallMessageHandler

    from app.launch import make_application
    from app.main_window import MainWindow
    from trainers.api import TrialStore
    from trainers.spec.config import RunConfig

    t0 = time.perf_counter()
    # The offscreen platform warns that it cannot propagate size hints; the report is one line, so drop it.
    qInstallMessageHandler(
        lambda _kind, _ctx, msg: None if "propagateSizeHints" in msg else print(msg, file=sys.stderr)
    )
    app = make_application()
    window = MainWindow(store_url=str(db))
    window.show()
    app.processEvents()
    window.training.form.set_config(RunConfig().replace(**{"train.epochs": SELF_TEST_EPOCHS}))
    loop = QEventLoop()
    window.training.run_finished.connect(loop.quit)
    QTimer.singleShot(TIMEOUT_MS, loop.quit)
    if not window.training.start():
        raise RuntimeError(f"training did not start: {window.training.form.first_error()}")
    loop.exec()
    outcome = window.training.last_outcome
    if outcome is None:
        window.stop_jobs()
        window.wait_for_workers()
        raise RuntimeError(f"no result within {TIMEOUT_MS // 1000} s")
    r = outcome.result
    if r is None or r.status != "completed":
        raise RuntimeError(outcome.error or f"trial {r.trial_id} {r.status}: {r.message}")
    plots = window.training.plots
    batch_points = len(plots.plot("loss").buffer("train (batch)"))
    val_points = len(plots.plot("accuracy").buffer("validation"))
    if batch_points == 0 or val_points != SELF_TEST_EPOCHS:
        raise RuntimeError(f"plots got {batch_points} batch points and {val_points} validation points")
    with TrialStore(str(db)) as store:
        trial = store.get_trial(r.trial_id)
        stored_epochs = len(store.epochs(r.trial_id))
    if trial is None or trial.status != "completed" or stored_epochs != SELF_TEST_EPOCHS:
        raise RuntimeError(f"trial {r.trial_id} stored as {trial and trial.status} with {stored_epochs} epochs")
    window.close()
    return (
        f"tunelab self-test passed: {SELF_TEST_EPOCHS} epochs on digits, validation accuracy "
        f"{r.best_val_acc:.3f}, {batch_points} batch points plotted, trial {r.trial_id} stored "
        f"({time.perf_counter() - t0:.1f} s)"
    )
