"""Take the README's Predict-tab screenshot: a CNN trained briefly on the bundled digits predicts a folder of new
digit images (in class sub-folders, so the true class shows), one of them a file that is not an image.

Run it under a real X server or Xvfb:
    env -u QT_QPA_PLATFORM xvfb-run -a -s "-screen 0 1440x900x24" python packaging/screenshot_predict.py [out.png]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def write_digit_images(folder: Path, count: int = 20) -> None:
    """Digits from the end of the bundled set as 8-bit PNGs in class folders, and one stray text file."""
    import numpy as np
    from PIL import Image

    from trainers.data.digits import read_digits

    pixels, labels = read_digits()
    for i in range(len(labels) - count, len(labels)):
        img = (pixels[i].reshape(8, 8) * 255 / 16).round().astype(np.uint8)
        target = folder / str(labels[i])
        target.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(target / f"digit{i}.png")
    (folder / "1-scan-notes.txt").write_text("not an image")


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "resources" / "screenshots" / "predict-tab.png"
    from PySide6.QtCore import QEventLoop, QTimer

    from app.jobs import warm_up_engine
    from app.launch import make_application
    from app.main_window import MainWindow
    from trainers.api import TrialStore, run_training
    from trainers.spec.config import RunConfig

    app = make_application()
    with tempfile.TemporaryDirectory() as tmp:
        store_url = str(Path(tmp) / "trials.db")
        cfg = RunConfig().replace(
            **{"model.family": "cnn", "model.cnn_channels": 16, "train.epochs": 15, "optim.lr": 0.003}
        )
        with TrialStore(store_url) as store:
            trial_id = run_training(cfg.replace(**{"train.threads": 1}), store=store).trial_id
        write_digit_images(Path(tmp) / "new digits")
        window = MainWindow(store_url=store_url)
        window.resize(1440, 900)
        window.show()
        warm_up_engine()
        window.engine_ready()
        tab = window.predict
        window.tabs.setCurrentWidget(tab)
        tab.choose_trial(trial_id)
        tab.set_input([str(Path(tmp) / "new digits")])
        loop = QEventLoop()
        tab.predicted.connect(lambda _table: QTimer.singleShot(400, loop.quit))
        QTimer.singleShot(300, tab.start)
        QTimer.singleShot(120_000, loop.quit)
        loop.exec()
        app.processEvents()
        out.parent.mkdir(parents=True, exist_ok=True)
        window.grab().save(str(out))
        window.close()
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
