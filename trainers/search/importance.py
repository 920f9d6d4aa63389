"""Which searched parameters mattered, from a search's completed trials.

PED-ANOVA (Optuna's default evaluator) is fast enough to redraw after every trial: it compares the parameter
densities of the best trials with those of all trials. fANOVA fits a random forest and takes minutes at a thousand
trials, so it is asked for on demand; it needs scikit-learn (`pip install 'tunelab[fanova]'`)."""

from __future__ import annotations

import importlib.util
import math
import time
import warnings

import optuna
from optuna.importance import FanovaImportanceEvaluator, PedAnovaImportanceEvaluator
from optuna.trial import FrozenTrial, TrialState

from trainers.search.after import StoreOrStorage, search_study
from trainers.search.study import SPACE
from trainers.spec.errors import ConfigError

METHODS = ("ped_anova", "fanova")
MIN_COMPLETE = 2
# PED-ANOVA compares the top quantile of trials with the rest; Optuna advises at least five trials in that top
# part, so a small search looks at a larger share of its trials (never more than half).
TOP_TRIALS = 5
TOP_QUANTILE = (0.1, 0.5)


class Importances(dict[str, float]):
    """{parameter (dotted field name): importance}, largest first; empty with a `reason` when none can be given.
    PED-ANOVA's values sum to 1 (all zero when no parameter sets the best trials apart)."""

    def __init__(
        self, values: dict[str, float] | None = None, *, method: str, complete: int, reason: str = "", seconds: float
    ) -> None:
        super().__init__(values or {})
        self.method, self.complete, self.reason, self.seconds = method, complete, reason, seconds


def param_importance(source: StoreOrStorage, search_id: int, method: str = "ped_anova") -> Importances:
    """The importance of each searched parameter of the search `search_id` (see search_study for `source`)."""
    if method not in METHODS:
        raise ConfigError("importance.method", method, f"one of {', '.join(METHODS)}")
    if method == "fanova" and importlib.util.find_spec("sklearn") is None:
        raise _fanova_missing("")
    study = search_study(source, search_id)
    try:
        return study_importance(study, method)
    except ImportError as exc:  # scikit-learn is there but one of its own packages is not
        raise _fanova_missing(f" ({exc})") from None


def _fanova_missing(detail: str) -> ConfigError:
    return ConfigError(
        "importance.method",
        "fanova",
        f"fANOVA needs scikit-learn{detail}: pip install 'tunelab[fanova]' (or pip install scikit-learn), "
        "or use ped_anova",
    )


def study_importance(study: optuna.Study, method: str = "ped_anova") -> Importances:
    """The importances in one study, over the parameters its completed trials sampled."""
    t0 = time.perf_counter()
    trials = _complete(study)
    if len(trials) < MIN_COMPLETE:
        why = f"importance needs at least {MIN_COMPLETE} completed trials ({len(trials)} so far)"
        return Importances(method=method, complete=len(trials), reason=why, seconds=0.0)
    params = _searched(study, trials)
    reason = ""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna warns about small regimes and experimental features on every call
        if method == "fanova":
            everywhere = [p for p in params if all(p in t.params for t in trials)]
            if len(everywhere) < len(params):
                left = ", ".join(p for p in params if p not in everywhere)
                reason = f"fANOVA leaves out parameters that only some trials sampled: {left}"
            raw = FanovaImportanceEvaluator(seed=0).evaluate(study, params=everywhere) if everywhere else {}
        else:
            raw = _ped_anova(len(trials)).evaluate(study, params=params)
    values = _normalised(raw)
    if values and not any(values.values()):
        reason = "no parameter sets the best trials apart (they scored alike)"
    return Importances(values, method=method, complete=len(trials), reason=reason, seconds=time.perf_counter() - t0)


def _complete(study: optuna.Study) -> list[FrozenTrial]:
    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return [t for t in trials if t.value is not None and math.isfinite(t.value)]


def _searched(study: optuna.Study, trials: list[FrozenTrial]) -> list[str]:
    """The space's parameters (in its order) that some completed trial sampled; every sampled one when the study
    records no space (a study made outside TuneLab)."""
    sampled = {name for t in trials for name in t.params}
    space = list(study.user_attrs.get(SPACE) or {})
    return [p for p in space if p in sampled] or sorted(sampled)


def _ped_anova(complete: int) -> PedAnovaImportanceEvaluator:
    low, high = TOP_QUANTILE
    return PedAnovaImportanceEvaluator(target_quantile=min(high, max(low, TOP_TRIALS / complete)))


def _normalised(raw: dict[str, float]) -> dict[str, float]:
    """Shares of the total, largest first; zeros stay zeros (Optuna's own normalising would spread them evenly)."""
    clean = {k: max(0.0, float(v)) if math.isfinite(v) else 0.0 for k, v in raw.items()}
    total = sum(clean.values())
    shares = {k: v / total for k, v in clean.items()} if total > 0 else clean
    return dict(sorted(shares.items(), key=lambda kv: -kv[1]))
