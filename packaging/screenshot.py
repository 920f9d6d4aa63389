"""Take the README's screenshots: the real window mid-training on the bundled digits, then the LR finder tab
after a three-seed range test on the same data, the History tab comparing runs, the Ensembles tab after
bagging five members, and the Search tab paused mid-search.

Run it under a real X server or Xvfb (packaging/screenshot.sh does the latter):
    xvfb-run -a -s "-screen 0 1440x900x24" python packaging/screenshot.py [out.png] [--only ensembles]

`--fit out.png` instead opens the window as on a first start (sized to the screen, no saved state) and grabs the
whole screen a few epochs into a run, to show what fits: packaging/screenshot.sh --fit takes it at 1280×720 and
at 2× scaling on a 2560×1440 screen.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SHOT_AT_EPOCH = 14
SEARCH_SHOT_AT_TRIAL = 14  # trials ended when the search is paused for its picture


def main() -> int:
    if "--fit" in sys.argv:
        return shoot_fitted(Path(sys.argv[sys.argv.index("--fit") + 1]))
    args = [a for a in sys.argv[1:] if not a.startswith("--only")]
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else ""
    args = [a for a in args if a != only]
    out = Path(args[0]) if args else ROOT / "resources" / "screenshots" / "training.png"
    from PySide6.QtCore import QEventLoop, QTimer

    from app.jobs import warm_up_engine
    from app.launch import make_application
    from app.main_window import MainWindow
    from trainers.spec.config import RunConfig
    from trainers.spec.events import EpochEnded

    app = make_application()
    with tempfile.TemporaryDirectory() as tmp:
        window = MainWindow(store_url=str(Path(tmp) / "trials.db"))
        window.resize(1440, 900)
        window.show()
        warm_up_engine()
        window.engine_ready()
        ensembles_out = out.with_name("ensembles.png")
        search_out = out.with_name("search-tab.png")
        if only in ("ensembles", "search"):
            shot = ensembles_out if only == "ensembles" else search_out
            (shoot_ensembles if only == "ensembles" else shoot_search)(app, window, shot)
            window.close()
            print(shot)
            return 0
        window.training.form.set_config(
            RunConfig().replace(
                **{
                    "model.family": "cnn",
                    "model.cnn_channels": 16,
                    "train.epochs": 40,
                    "train.batch_size": 32,
                    "optim.lr": 0.003,
                    "schedule.name": "one_cycle",
                    "train.threads": 1,
                }
            )
        )
        loop = QEventLoop()

        def on_events(events: list) -> None:
            if any(isinstance(e, EpochEnded) and e.epoch >= SHOT_AT_EPOCH for e in events):
                window.training.toggle_pause()  # hold still for the picture
                QTimer.singleShot(400, loop.quit)

        window.training.events_received.connect(on_events)
        QTimer.singleShot(600, window.training.start)
        QTimer.singleShot(180_000, loop.quit)
        loop.exec()
        window.training.toggle_pause()
        window.training.panel.show_message(window.training.panel.message.text())
        app.processEvents()
        screen = window.screen()
        image = screen.grabWindow(
            0, window.x(), window.y(), window.frameGeometry().width(), window.frameGeometry().height()
        )
        if image.isNull() or image.width() < 100:
            image = window.grab()
        out.parent.mkdir(parents=True, exist_ok=True)
        image.save(str(out))
        window.stop_jobs()
        window.wait_for_workers()
        app.processEvents()
        lr_out = out.with_name("lr_finder.png")
        shoot_lr_finder(app, window, lr_out)
        history_out = out.with_name("history.png")
        shoot_history(app, window, str(Path(tmp) / "trials.db"), history_out)
        shoot_ensembles(app, window, ensembles_out)
        shoot_search(app, window, search_out)
        window.close()
    print(out)
    print(lr_out)
    print(history_out)
    print(ensembles_out)
    print(search_out)
    return 0


def shoot_search(app, window, out: Path) -> None:
    """A TPE search with median pruning on digits (lr seeded by the LR finder, dropout, batch size, units per
    layer), paused mid-search for the picture, then stopped."""
    from PySide6.QtCore import QEventLoop, QTimer

    from trainers.spec.config import RunConfig
    from trainers.spec.search_events import SearchTrialEnded
    from trainers.spec.search_settings import SearchSettings

    window.training.form.set_config(RunConfig().replace(**{"train.epochs": 12, "train.threads": 1}))
    tab = window.search
    window.tabs.setCurrentWidget(tab)
    tab.form.set_settings(SearchSettings().replace(trials=40, seed=1))
    for key in ("model.dropout", "train.batch_size", "model.hidden_units"):
        tab.space_editor.row(key).check.setChecked(True)
    loop = QEventLoop()
    ended: list = []

    def on_events(events: list) -> None:
        ended.extend(e for e in events if isinstance(e, SearchTrialEnded))
        if len(ended) >= SEARCH_SHOT_AT_TRIAL and not window.runner.paused:
            window.runner.pause()  # hold still for the picture
            QTimer.singleShot(600, loop.quit)

    tab.events_received.connect(on_events)
    QTimer.singleShot(300, tab.start)
    QTimer.singleShot(300_000, loop.quit)
    loop.exec()
    app.processEvents()
    window.grab().save(str(out))
    tab.events_received.disconnect(on_events)
    window.runner.resume()
    window.stop_jobs()
    window.wait_for_workers()
    app.processEvents()


def shoot_ensembles(app, window, out: Path) -> None:
    """Bagging five default MLPs (trained together) with the Training tab's config, then the results."""
    from trainers.spec.config import RunConfig
    from trainers.spec.ensemble_settings import EnsembleSettings

    window.training.form.set_config(RunConfig().replace(**{"train.threads": 1}))
    tab = window.ensembles
    window.tabs.setCurrentWidget(tab)
    tab.form.set_settings(EnsembleSettings(method="bagging", members=5))
    run_job_and_grab(app, window, tab, "the ensemble", out)


def run_job_and_grab(app, window, tab, what: str, out: Path) -> None:
    """Start the tab's job, wait for it to end (two minutes at most), then save the window as a picture."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    tab.run_finished.connect(lambda _: QTimer.singleShot(400, loop.quit))

    def start() -> None:
        if not tab.start():  # something blocks the job: say what instead of waiting for the time-out
            print(f"screenshot.py: {what} did not start: {tab.message.text()}", file=sys.stderr)
            loop.quit()

    QTimer.singleShot(300, start)
    QTimer.singleShot(120_000, loop.quit)
    loop.exec()
    app.processEvents()
    window.grab().save(str(out))


def shoot_history(app, window, store_url: str, out: Path) -> None:
    """A few more digits runs (learning rates around the range test's suggestion, and one that overfits),
    then the History tab comparing them."""
    from PySide6.QtCore import QEventLoop, QTimer

    from trainers.api import TrialStore, run_training
    from trainers.spec.config import RunConfig

    runs = [{"optim.lr": lr} for lr in (3e-4, 1e-3, 3e-3)] + [
        {"train.epochs": 40, "data.train_fraction": 0.1, "model.dropout": 0.0, "optim.weight_decay": 0.0}
    ]
    with TrialStore(store_url) as store:
        ids = [
            run_training(RunConfig().replace(**{"train.epochs": 15, "train.threads": 1, **r}), store=store).trial_id
            for r in runs
        ]
    window.tabs.setCurrentWidget(window.history)
    window.history.job_finished()  # the runs above did not go through the window: read the store again
    loop = QEventLoop()
    QTimer.singleShot(800, loop.quit)
    loop.exec()
    window.history.select_ids(ids)
    loop = QEventLoop()
    QTimer.singleShot(800, loop.quit)
    loop.exec()
    app.processEvents()
    window.grab().save(str(out))


def shoot_lr_finder(app, window, out: Path) -> None:
    from trainers.spec.config import RunConfig
    from trainers.spec.lr_finder_settings import LrFinderSettings

    window.training.form.set_config(RunConfig())
    tab = window.lr_finder
    window.tabs.setCurrentWidget(tab)
    tab.form.set_settings(LrFinderSettings(repeats=3))
    run_job_and_grab(app, window, tab, "the range test", out)


def shoot_fitted(out: Path) -> int:
    """The whole screen with a first-start window a few epochs into a run (paused for the picture)."""
    import os

    from PySide6.QtCore import QEventLoop, QTimer

    from trainers.spec.config import RunConfig
    from trainers.spec.events import EpochEnded

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TUNELAB_DATA_DIR"] = tmp  # no saved geometry: the size a new user gets
        from app.jobs import warm_up_engine
        from app.launch import make_application
        from app.main_window import MainWindow

        app = make_application()
        window = MainWindow(store_url=str(Path(tmp) / "trials.db"))
        window.show()
        warm_up_engine()
        window.engine_ready()
        window.training.form.set_config(RunConfig().replace(**{"train.epochs": 30, "train.threads": 1}))
        loop = QEventLoop()

        def on_events(events: list) -> None:
            if any(isinstance(e, EpochEnded) and e.epoch >= 6 for e in events) and not window.training.paused:
                window.training.toggle_pause()
                QTimer.singleShot(600, loop.quit)

        window.training.events_received.connect(on_events)
        QTimer.singleShot(600, window.training.start)
        QTimer.singleShot(180_000, loop.quit)
        loop.exec()
        app.processEvents()
        out.parent.mkdir(parents=True, exist_ok=True)
        window.screen().grabWindow(0).save(str(out))
        window.stop_jobs()
        window.wait_for_workers()
        window.close()
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
