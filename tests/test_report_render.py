"""Reports of real runs (a trained and evaluated MLP, an ensemble of stored trials, a search), written by
`tunelab report` and opened in a real browser engine: headless Chromium parses each file, draws it to a PNG, and
what it parsed and drew is checked. Where CI runs (CI is set), a missing Chromium fails the test."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from test_report import assert_self_contained, cells, section_of

from trainers.api import (
    EnsembleSettings,
    SearchSettings,
    SearchSpace,
    TrialStore,
    evaluate_trial,
    run_ensemble,
    run_search,
    run_training,
)
from trainers.cli.main import main
from trainers.spec.config import RunConfig
from trainers.use.report_html import fmt, percent

pytestmark = pytest.mark.slow

TINY = RunConfig().replace(
    **{"data.train_fraction": 0.3, "train.epochs": 3, "train.threads": 1, "model.hidden_units": 64}
)
HEADER_RGB = (0x24, 0x32, 0x4A)  # the report's header bar
TRAIN_RGB = (0x1F, 0x77, 0xB4)  # the training curve


def chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and os.environ.get("CI"):
        pytest.fail("chromium is not installed: CI needs it to open the report (.ci/run installs it with apt-get)")
    return found


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """{kind: (report, store file)} for a training run, an ensemble and a search, all in one store."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("reports")
    db = str(root / "trials.db")
    with TrialStore(db) as store:
        first = run_training(TINY, store=store)
        second = run_training(TINY.replace(**{"train.seed": 1}), store=store)
        evaluate_trial(store, first.trial_id, "test")
        ensemble = run_ensemble(
            EnsembleSettings(method="soft-vote", trials=f"{first.trial_id}, {second.trial_id}"), store=store
        )
        evaluate_trial(store, ensemble.trial_id, "test")
        search_cfg = TINY.replace(**{"train.epochs": 2, "train.checkpoints": False})
        space = SearchSpace.from_dict({"lr": "log:1e-4:1e-1", "dropout": "float:0:0.5"}, search_cfg)
        settings = SearchSettings().replace(trials=4, lr_finder_seed=False, pruner="none")
        search = run_search(search_cfg, space, settings, store=store)
    ids = {"train": first.trial_id, "ensemble": ensemble.trial_id, "search": search.search_id}
    out = {}
    for kind, trial_id in ids.items():
        path = root / f"{kind}.html"
        assert main(["report", str(trial_id), "-o", str(path), "--store", db]) == 0
        out[kind] = (path, Path(db))
    return out


def test_reports_of_real_runs_hold_their_numbers(reports: dict[str, tuple[Path, Path]]) -> None:
    train_html = reports["train"][0].read_text()
    assert_self_contained(train_html)
    with TrialStore(str(reports["train"][1]), read_only=True) as store:
        trial = store.list_trials(kind="train", order_by="id", descending=False)[0]
        ensemble = store.list_trials(kind="ensemble")[0]
        search = store.list_trials(kind="search")[0]
        epochs = store.epochs(trial.id)
    assert percent(trial.best_val_acc) in section_of(train_html, "summary")
    assert [c for c in cells(section_of(train_html, "epochs"))][2] == fmt(epochs[0].train_acc)
    evaluation = section_of(train_html, "evaluation")
    stored = trial.extra["evaluation"]["test"]
    assert percent(stored["accuracy"]) in evaluation and evaluation.count('<img src="data:image/png;base64,') == len(
        stored["mistakes"]
    )
    ensemble_html = reports["ensemble"][0].read_text()
    assert_self_contained(ensemble_html)
    assert fmt(ensemble.best_val_acc) in cells(section_of(ensemble_html, "members"))
    assert percent(ensemble.extra["evaluation"]["test"]["accuracy"]) in section_of(ensemble_html, "evaluation")
    search_html = reports["search"][0].read_text()
    assert_self_contained(search_html)
    assert len(re.findall(r"<tr[^>]*><td[^>]*>\d+</td>", section_of(search_html, "trials"))) == 4
    assert "<svg" in section_of(search_html, "history") and "<svg" in section_of(search_html, "importance")
    assert search.name in search_html


@pytest.mark.parametrize("kind", ["train", "ensemble", "search"])
def test_chromium_parses_and_draws_each_report(
    kind: str, reports: dict[str, tuple[Path, Path]], tmp_path: Path
) -> None:
    browser = chromium()
    if browser is None:
        pytest.skip("chromium is not installed (apt-get install chromium); CI requires it")
    path = reports[kind][0]
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars"]
    dom = subprocess.run([browser, *flags, "--dump-dom", path.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    # what the browser built: the sections and the charts, as elements of its own DOM
    sections = re.findall(r'<section id="([a-z]+)">', dom.stdout)
    assert "environment" in sections and len(sections) >= 4
    assert dom.stdout.count("<svg") == path.read_text().count("<svg") > 0
    png = tmp_path / f"{kind}.png"
    shot = subprocess.run(
        [browser, *flags, f"--screenshot={png}", "--window-size=1280,1600", path.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shot.returncode == 0 and png.is_file(), shot.stderr[-2000:]
    pixels = np.asarray(Image.open(png).convert("RGB"))
    assert pixels.shape[:2] == (1600, 1280)
    header = pixels[8:40, 900:1260].reshape(-1, 3)  # right of the title
    assert (np.abs(header.astype(int) - HEADER_RGB).sum(axis=1) < 12).mean() > 0.9  # the header bar is drawn
    if kind == "train":  # the curves are drawn below the summary: the training line's blue is on screen
        assert (np.abs(pixels.reshape(-1, 3).astype(int) - TRAIN_RGB).sum(axis=1) < 30).sum() > 200
