"""The small surface the GUI and the CLI use: run a training trial or a range test, read the store."""

from __future__ import annotations

from trainers.diagnosis.apply import apply_intervention
from trainers.diagnosis.diagnose import Diagnosis, diagnose, diagnose_record, diagnose_trial, fill_diagnoses
from trainers.ensembles.ensemble_file import EnsembleModel, load_ensemble
from trainers.ensembles.ensemble_run import run_ensemble
from trainers.ensembles.stored_ensembles import (
    ensemble_candidates,
    ensemble_trials,
    export_ensemble,
    load_ensemble_result,
)
from trainers.evaluation.evaluation import Evaluation
from trainers.jobs.device import describe_devices
from trainers.jobs.setup import trial_summary
from trainers.lr_finder.trial import load_lr_finder, lr_finder_trials, run_lr_finder
from trainers.models import ModelInfo, describe_model
from trainers.search.after import best_config, ensemble_settings, top_trials
from trainers.search.importance import METHODS as IMPORTANCE_METHODS
from trainers.search.importance import Importances, param_importance
from trainers.search.search import run_search
from trainers.search.storage import study_storage_url
from trainers.search.stored import load_search_result, search_trial_events, search_trials
from trainers.spec.ensemble_events import EnsembleResult
from trainers.spec.ensemble_settings import EnsembleSettings
from trainers.spec.events import FitEnded, LrFinderResult
from trainers.spec.lr_finder_settings import LrFinderSettings
from trainers.spec.predictions import PredictionRow, PredictionTable
from trainers.spec.search_events import SearchResult, SearchTrialEnded
from trainers.spec.search_settings import SearchSettings
from trainers.spec.search_space import SearchSpace
from trainers.store import RANK_METRICS, RankedTrial, TrialQuery, TrialStore
from trainers.training.queued_runs import queue_run
from trainers.training.run import run_training
from trainers.trials.export import export_trials
from trainers.trials.ranked_rows import parse_filter
from trainers.trials.reruns import queue_reruns, rerun_with_seeds
from trainers.trials.tensorboard_export import export_tensorboard
from trainers.use.evaluate import evaluate_trial
from trainers.use.export_folder import free_folder as free_export_folder
from trainers.use.export_model import export_model
from trainers.use.export_trial import ExportResult
from trainers.use.open_evaluation import EvaluationShown, open_evaluation, open_evaluation_at
from trainers.use.predict import predict
from trainers.use.predict_choices import predict_choices
from trainers.use.report import write_report

# What the GUI uses besides run_training: the store and its ranked queries, the model description for the
# forms, the range test, the diagnosis, re-runs with other seeds, ensembles, searches, export and the device line
# for About.
__all__ = [
    "RANK_METRICS",
    "Diagnosis",
    "EnsembleModel",
    "EnsembleResult",
    "EnsembleSettings",
    "ModelInfo",
    "LrFinderResult",
    "LrFinderSettings",
    "RankedTrial",
    "RunResult",
    "SearchResult",
    "SearchSettings",
    "SearchSpace",
    "SearchTrialEnded",
    "TrialQuery",
    "TrialStore",
    "apply_intervention",
    "describe_devices",
    "describe_model",
    "diagnose",
    "diagnose_record",
    "diagnose_trial",
    "ensemble_candidates",
    "ensemble_trials",
    "export_ensemble",
    "export_trials",
    "fill_diagnoses",
    "load_ensemble",
    "load_ensemble_result",
    "load_lr_finder",
    "parse_filter",
    "lr_finder_trials",
    "rerun_with_seeds",
    # runs queued for `tunelab worker --queue` (Run on workers)
    "queue_run",
    "queue_reruns",
    "run_ensemble",
    "load_search_result",
    "run_lr_finder",
    "run_search",
    "run_training",
    "search_trial_events",
    "search_trials",
    "study_storage_url",
    "trial_summary",
    # after a search: importance, the best config, the top trials for re-runs and ensembles
    "IMPORTANCE_METHODS",
    "Importances",
    "best_config",
    "ensemble_settings",
    "param_importance",
    "top_trials",
    # using a tuned model: its evaluation (confusion matrix, per-class metrics, calibration, mistakes)
    "Evaluation",
    "EvaluationShown",
    "evaluate_trial",
    "open_evaluation",
    "open_evaluation_at",
    # using a tuned model: predict on raw input (a CSV file, an image, a folder of images)
    "PredictionRow",
    "PredictionTable",
    "predict",
    "predict_choices",
    # a shareable HTML report of a trial, an ensemble or a search; trials as TensorBoard runs
    "export_tensorboard",
    "write_report",
    # a trial's model as a folder other programs use: ONNX, .pt2, state dict, signature.json, predict.py
    "ExportResult",
    "export_model",
    "free_export_folder",
]

# A run's result is its final event: the same fields reach a sink, the CLI's JSON line and the caller.
RunResult = FitEnded
