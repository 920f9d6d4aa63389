"""The LR finder's verification: candidates across the band, successive halving on the ordinary loop, the chosen
rate's numbers equal to a plain training run's, stop, divergence, storage and the settings' errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from trainers.api import TrialStore, load_lr_finder, run_lr_finder, run_training
from trainers.data import load_dataset
from trainers.lr_finder.candidates import candidate_rates, rungs, survivors, total_epochs
from trainers.lr_finder.verify import verify_rate
from trainers.spec.config import RunConfig
from trainers.spec.errors import ConfigError
from trainers.spec.events import ListSink, LrFinderResult, RunControl
from trainers.spec.lr_finder_settings import LrFinderSettings
from trainers.spec.lr_verify_events import LrVerifyEpoch, LrVerifyStarted, VerifiedRate, VerifyRow
from trainers.spec.rates import recommended_rate, with_learning_rate

CPU = torch.device("cpu")
# Tiny real runs: a fifth of digits, four planned epochs, with dropout and a cosine schedule so that the random
# state and the schedule over the planned epochs both matter when a survivor continues.
TINY = {
    "train.epochs": 4,
    "data.train_fraction": 0.2,
    "train.threads": 1,
    "train.device": "cpu",
    "train.checkpoints": False,
    "schedule.name": "cosine",
    "model.dropout": 0.2,
    "train.seed": 3,
}
SHORT = {"iterations": 30, "verify": True}


def found(suggestions: dict, agreed: tuple[float, float] | None = None) -> LrFinderResult:
    """A range test's answer as verify_rate reads it (no curves needed)."""
    names = ("steepest", "valley", "min_div_10")
    return LrFinderResult(None, "completed", (), {n: suggestions.get(n) for n in names}, {}, agreed, (), "", 0.0)


@pytest.fixture(scope="module")
def digits():
    return load_dataset(RunConfig().replace(**TINY).data)


# ---- candidates and rungs (pure) ------------------------------------------------------------------
def test_candidates_span_the_band_up_to_a_third_of_the_loss_minimum_with_the_headline() -> None:
    r = found({"steepest": 1e-3, "valley": 2e-3, "min_div_10": 3e-3}, agreed=(1e-3, 3e-3))
    rates = candidate_rates(r, recommended_rate(r), 4)
    assert len(rates) == 4 and list(rates) == sorted(rates)
    assert rates[0] == 1e-3 and rates[-1] == pytest.approx(1e-2)  # the band's low end .. minimum (3e-2) ÷ 3
    assert recommended_rate(r) in rates  # the headline (the band's middle today) is checked too
    ratios = [b / a for a, b in zip(rates, rates[1:])]
    assert all(1.05 < q < 10 for q in ratios)
    assert candidate_rates(found({}), None, 4) == ()


def test_rungs_double_from_a_quarter_of_the_plan_and_the_better_half_goes_on() -> None:
    assert rungs(20) == (5, 10, 20) and rungs(3) == (1, 2, 3) and rungs(1) == (1,) and rungs(5) == (1, 2, 4, 5)
    assert [survivors(n) for n in (1, 2, 3, 4, 8)] == [1, 1, 1, 2, 4]
    assert total_epochs(4, 20) == 4 * 5 + 2 * 5  # four to epoch 5, two on to epoch 10: one is left
    assert total_epochs(8, 3) == 8 * 1 + 4 * 1 + 2 * 1  # the plan is reached with two left
    assert total_epochs(2, 4) == 2


# ---- the engine on real runs ------------------------------------------------------------------------
def test_successive_halving_keeps_the_better_half_and_the_chosen_rate_is_stored(tmp_path: Path) -> None:
    cfg = RunConfig().replace(**TINY)
    sink = ListSink()
    with TrialStore(str(tmp_path / "t.db")) as store:
        r = run_lr_finder(cfg, LrFinderSettings().replace(**SHORT), sink=sink, store=store)
        v = r.verified
        assert r.status == "completed" and v is not None and v.rate is not None, r.message
        assert v.rate in v.candidates and len(v.candidates) == 4 and v.planned_epochs == 4
        first = [row for row in v.rows if row.epochs == 1]
        assert sorted(row.rate for row in first) == sorted(v.candidates)
        best_two = sorted(first, key=lambda row: (row.val_loss, -row.val_acc))[:2]
        assert {row.rate for row in first if row.outcome == "kept"} == {row.rate for row in best_two}
        second = [row for row in v.rows if row.epochs == 2]
        assert {row.rate for row in second} == {row.rate for row in best_two}  # only survivors go on
        chosen = [row for row in v.rows if row.outcome == "chosen"]
        assert [row.rate for row in chosen] == [v.rate] and chosen[0] in second
        assert chosen[0].val_loss == min(row.val_loss for row in second)
        assert recommended_rate(r) == v.rate  # the verified rate is the headline now
        assert store.get_trial(r.trial_id).lr == v.rate
        assert load_lr_finder(store, r.trial_id).verified == v  # the evidence loads back as it was
    started = sink.of(LrVerifyStarted)
    epochs = sink.of(LrVerifyEpoch)
    assert len(started) == 1 and started[0].total_epochs == 4 + 2 == len(epochs)
    assert [e.done for e in epochs] == list(range(1, 7))


def test_the_chosen_rate_scores_what_a_plain_training_run_at_it_scores(digits, tmp_path: Path) -> None:
    cfg = RunConfig().replace(**TINY)
    with TrialStore(str(tmp_path / "t.db")) as store:
        r = run_lr_finder(cfg, LrFinderSettings().replace(**SHORT, verify_candidates=5), store=store, bundle=digits)
        v = r.verified
        assert v is not None and v.rate is not None, r.message
        # the survivors were interrupted while the others trained, then continued: each scores as one plain run
        later = [row for row in v.rows if row.epochs > 1]
        assert len(later) == 2 and v.rate in {row.rate for row in later}
        plain = {}
        for row in later:
            run = run_training(with_learning_rate(cfg, row.rate), store=store, bundle=digits)
            plain[row.rate] = next(e for e in store.epochs(run.trial_id) if e.epoch == row.epochs)
    for row in later:
        assert row.val_loss == pytest.approx(plain[row.rate].val_loss, rel=1e-9, abs=1e-12)
        assert row.val_acc == pytest.approx(plain[row.rate].val_acc)


def test_a_stop_request_during_the_short_runs_stops_the_trial_without_a_verified_rate(tmp_path: Path) -> None:
    control = RunControl()

    class StopAtFirstEpoch(ListSink):
        def emit(self, event) -> None:
            super().emit(event)
            if isinstance(event, LrVerifyEpoch):
                control.stop()

    sink = StopAtFirstEpoch()
    with TrialStore(str(tmp_path / "t.db")) as store:
        r = run_lr_finder(
            RunConfig().replace(**TINY), LrFinderSettings().replace(**SHORT), sink=sink, control=control, store=store
        )
        assert r.status == "stopped" and store.get_trial(r.trial_id).status == "stopped"
    v = r.verified
    assert v is not None and v.rate is None and "stopped by request" in v.message
    assert len(sink.of(LrVerifyEpoch)) == 1 and all(row.outcome == "stopped" for row in v.rows)
    assert "stopped by request" in r.message
    assert recommended_rate(r) == recommended_rate(dataclasses.replace(r, verified=None))  # today's rule


def test_a_diverging_candidate_is_never_kept(digits) -> None:
    cfg = RunConfig().replace(**{**TINY, "schedule.name": "constant", "model.dropout": 0.0})
    # the loss minimum at 150 puts the top candidate at 50: Adam at that rate blows the loss up at once
    r = found({"steepest": 1e-3, "valley": 1e-3, "min_div_10": 15.0}, agreed=(1e-3, 1e-3))
    v = verify_rate(cfg, r, digits, 4, CPU)
    top = max(v.candidates)
    assert top == pytest.approx(50.0)
    assert [row.outcome for row in v.rows if row.rate == top] == ["diverged"]
    assert [row.val_loss for row in v.rows if row.rate == top] == [None]
    assert v.rate is not None and v.rate < top


def test_every_candidate_diverging_leaves_no_rate_and_says_so(digits) -> None:
    cfg = RunConfig().replace(**{**TINY, "schedule.name": "constant", "model.dropout": 0.0})
    r = found({"steepest": 50.0, "valley": 60.0, "min_div_10": 9.0}, agreed=(50.0, 90.0))
    v = verify_rate(cfg, r, digits, 2, CPU)
    assert v.rate is None and "diverged" in v.message
    assert all(row.outcome == "diverged" for row in v.rows)


def test_nothing_to_check_without_a_suggestion(digits) -> None:
    r = dataclasses.replace(found({}), message="no clear descent: the smoothed loss only rises")
    v = verify_rate(RunConfig().replace(**TINY), r, digits, 4, CPU)
    assert v.rate is None and v.rows == () and "no clear descent" in v.message


def test_stored_evidence_round_trips_through_plain_data() -> None:
    rows = (VerifyRow(1e-3, 1, 2.1, 0.4, "dropped"), VerifyRow(1e-2, 1, None, None, "diverged"))
    v = VerifiedRate(None, 4, (1e-3, 1e-2), rows, "every candidate diverged", 1.5)
    stored = dataclasses.replace(found({}), verified=v).to_dict()["verified"]
    assert VerifiedRate.from_dict(stored) == v


# ---- settings ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"verify_candidates": 1}, "range_test.verify_candidates"),
        ({"verify_candidates": 9}, "range_test.verify_candidates"),
        ({"verify_candidates": "four"}, "range_test.verify_candidates"),
        ({"verify": "perhaps"}, "range_test.verify"),
    ],
)
def test_bad_verify_settings_are_config_errors_naming_the_field(changes: dict, field: str) -> None:
    with pytest.raises(ConfigError) as err:
        LrFinderSettings().replace(**changes)
    assert err.value.field == field


def test_verify_settings_default_off_with_four_candidates() -> None:
    s = LrFinderSettings()
    assert s.verify is False and s.verify_candidates == 4
    assert LrFinderSettings().replace(verify="true", verify_candidates="6") == LrFinderSettings(
        verify=True, verify_candidates=6
    )
