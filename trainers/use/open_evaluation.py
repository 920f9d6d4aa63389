"""What the window's Evaluation view shows for one trial: the stored evaluation (computed and stored the first time)
and thumbnails of its mistakes' images. Runs in a worker thread with a store of its own."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trainers.data import DatasetBundle
from trainers.evaluation.evaluation import SPLITS, Evaluation
from trainers.evaluation.stored import stored_evaluation
from trainers.spec.errors import StoreError
from trainers.store import TrialStore
from trainers.use.evaluate import evaluate_trial
from trainers.use.thumbnails import sample_images
from trainers.use.trial_model import split_of, trial_bundle


@dataclass(frozen=True)
class EvaluationShown:
    evaluation: Evaluation
    images: tuple[np.ndarray, ...]  # uint8 (H, W, C), one per mistake, for image data; () for tables
    computed: bool  # False: read back from the store


def open_evaluation(store: TrialStore, trial_id: int, split: str | None = None) -> EvaluationShown:
    """The trial's evaluation on `split` (None: the test split, else the validation split), as stored or computed
    now, with its mistakes' thumbnails."""
    trial = store.get_trial(trial_id)
    if trial.running:
        raise StoreError(f"trial {trial_id} is still running: its evaluation is made when it finishes")
    wanted = (split,) if split else SPLITS
    ev = next((e for e in (stored_evaluation(trial, s) for s in wanted) if e is not None), None)
    data: DatasetBundle | None = None
    computed = ev is None
    if ev is None:
        data = trial_bundle(store, trial_id)
        chosen = split or ("test" if data.test is not None else "val")
        ev = evaluate_trial(store, trial_id, chosen, bundle=data)
    images: tuple[np.ndarray, ...] = ()
    if ev.inputs == "image" and ev.mistakes:
        data = data or trial_bundle(store, trial_id)
        images = tuple(sample_images(split_of(data, ev.split), [m.index for m in ev.mistakes]))
    return EvaluationShown(ev, images, computed)


def open_evaluation_at(store_url: str | None, trial_id: int, split: str | None = None) -> EvaluationShown:
    """open_evaluation on a store opened (and closed) here: a worker thread never shares the window's connection."""
    with TrialStore(store_url, must_exist=True) as store:
        return open_evaluation(store, trial_id, split)
