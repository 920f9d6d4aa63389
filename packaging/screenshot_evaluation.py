"""Take the README's Evaluation-view screenshot: a small MLP trained briefly on the bundled digits (so it still
makes a few mistakes), opened in History's detail pane on its Evaluation tab.

Run it under a real X server or Xvfb:
    env -u QT_QPA_PLATFORM xvfb-run -a -s "-screen 0 1280x800x24" python packaging/screenshot_evaluation.py [out.png]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "resources" / "screenshots" / "evaluation-view.png"
    from PySide6.QtCore import QEventLoop, Qt, QTimer
    from PySide6.QtWidgets import QSplitter

    from app.jobs import warm_up_engine
    from app.launch import make_application
    from app.main_window import MainWindow
    from trainers.api import TrialStore, run_training
    from trainers.spec.config import RunConfig

    app = make_application()
    with tempfile.TemporaryDirectory() as tmp:
        store_url = str(Path(tmp) / "trials.db")
        cfg = RunConfig().replace(**{"train.epochs": 4, "optim.lr": 3e-4, "train.threads": 1})
        with TrialStore(store_url) as store:
            trial_id = run_training(cfg, store=store).trial_id
        window = MainWindow(store_url=store_url)
        window.resize(1280, 800)
        window.show()
        warm_up_engine()
        window.engine_ready()
        tab = window.history
        window.tabs.setCurrentWidget(tab)
        loop = QEventLoop()
        QTimer.singleShot(60_000, loop.quit)

        def open_view() -> None:
            tab.select_ids([trial_id])
            detail = tab.detail
            for split in tab.findChildren(QSplitter):  # a short table and a narrow diagnosis: room for the view
                if split.widget(0) is tab.table:
                    split.setSizes([70, 800])
                elif split.orientation() == Qt.Orientation.Horizontal and split.indexOf(detail.views) == 1:
                    split.setSizes([260, 1020])
            detail.evaluation.shown.connect(lambda _id: QTimer.singleShot(500, loop.quit))
            detail.views.setCurrentWidget(detail.evaluation)

        QTimer.singleShot(800, open_view)
        loop.exec()
        app.processEvents()
        out.parent.mkdir(parents=True, exist_ok=True)
        window.grab().save(str(out))
        window.close()
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
