"""The headline learning rate fits the run about to be trained: its planned steps and its schedule."""

from __future__ import annotations

import math

import pytest

from trainers.spec.budget_rate import (
    EDGE_DIVISOR,
    FULL_STEPS,
    budget_rate,
    budget_text,
    schedule_mean,
    steps_per_epoch,
)
from trainers.spec.config import RunConfig


def test_a_long_run_trains_at_the_steady_rate() -> None:
    assert budget_rate(1e-3, 0.1, planned_steps=FULL_STEPS) == pytest.approx(1e-3)
    assert budget_rate(1e-3, 0.1, planned_steps=10 * FULL_STEPS) == pytest.approx(1e-3)


def test_a_short_run_scales_the_rate_up_by_the_missing_steps() -> None:
    assert budget_rate(1e-3, 1.0, planned_steps=FULL_STEPS // 5) == pytest.approx(5e-3)


def test_the_rate_never_passes_a_third_of_the_loss_minimum() -> None:
    rate = budget_rate(1e-3, 0.03, planned_steps=10)  # 50x up would be 0.05
    assert rate == pytest.approx(0.03 / EDGE_DIVISOR)


def test_the_ceiling_never_pulls_the_rate_below_the_steady_one() -> None:
    assert budget_rate(1e-2, 0.01, planned_steps=10) == pytest.approx(1e-2)


def test_no_steady_rate_means_no_suggestion() -> None:
    assert budget_rate(None, 0.1, planned_steps=100) is None


def test_steps_per_epoch_counts_the_last_partial_batch() -> None:
    cfg = RunConfig().replace(**{"train.batch_size": 64})
    assert steps_per_epoch(1257, cfg) == 20
    assert steps_per_epoch(64, cfg) == 1


def test_a_constant_schedule_averages_its_rate() -> None:
    assert schedule_mean(RunConfig(), 20) == 1.0


def test_cosine_averages_about_half_its_peak_and_raises_the_headline() -> None:
    cfg = RunConfig().replace(**{"schedule.name": "cosine", "train.epochs": 10})
    mean = schedule_mean(cfg, 50)
    assert mean == pytest.approx(0.5, abs=0.02)
    assert budget_rate(1e-3, 1.0, FULL_STEPS, mean) == pytest.approx(1e-3 / mean)


def test_one_cycle_mean_is_taken_against_its_peak() -> None:
    cfg = RunConfig().replace(**{"schedule.name": "one_cycle", "schedule.max_lr": 0.01, "train.epochs": 10})
    assert 0.2 < schedule_mean(cfg, 50) < 0.7


def test_the_text_says_why_the_rate_moved() -> None:
    assert "planned steps" in budget_text(1e-3, 5e-3, 100, 1.0)
    assert "enough" in budget_text(1e-3, 1e-3, 1000, 1.0)
    assert math.isfinite(schedule_mean(RunConfig().replace(**{"schedule.warmup_epochs": 2.0}), 10))


def test_the_steady_rate_is_the_band_middle_else_the_middle_suggestion() -> None:
    from trainers.spec.budget_rate import steady_rate

    assert steady_rate({"valley": 1e-4}, (1e-3, 4e-3)) == pytest.approx(2e-3)
    assert steady_rate({"steepest": 1e-3, "valley": 2.5e-4, "min_div_10": 9e-3}, None) == pytest.approx(1e-3)
    assert steady_rate({"steepest": 1e-3, "valley": 4e-3, "min_div_10": None}, None) == pytest.approx(2e-3)
    assert steady_rate({"steepest": None}, None) is None


@pytest.mark.slow
def test_the_lr_finder_recommends_a_higher_rate_for_a_shorter_run(tmp_path) -> None:
    from trainers.api import TrialStore, load_lr_finder, run_lr_finder
    from trainers.spec.rates import recommendation_text, recommended_rate

    rates = {}
    with TrialStore(str(tmp_path / "s.db")) as store:
        for epochs in (2, 40):
            cfg = RunConfig().replace(**{"train.epochs": epochs, "train.threads": 1, "train.checkpoints": False})
            result = run_lr_finder(cfg, store=store)
            assert result.planned_steps == 20 * epochs  # 1,257 digits rows in batches of 64
            again = load_lr_finder(store, result.trial_id)
            assert again.planned_steps == result.planned_steps
            assert recommended_rate(again) == pytest.approx(recommended_rate(result))
            assert store.get_trial(result.trial_id).lr == pytest.approx(recommended_rate(result))
            rates[epochs] = recommended_rate(result)
        assert "planned steps" in recommendation_text(result) or "enough" in recommendation_text(result)
    assert rates[2] > 3 * rates[40]


def test_a_task_the_sweep_barely_moved_needs_more_steps_before_the_band_is_enough() -> None:
    from trainers.spec.budget_rate import full_steps, sweep_drop

    easy = [2.3] * 10 + [0.5] * 10  # the sweep removed 78 % of the loss
    hard = [1.4] * 10 + [1.05] * 10  # 25 %
    assert sweep_drop([easy]) == pytest.approx(1 - 0.5 / 2.3)
    assert full_steps(sweep_drop([hard])) > 4 * full_steps(sweep_drop([easy]))
    # 600 steps: enough for the easy task, short for the hard one
    assert budget_rate(1e-3, 0.1, 600, drop=sweep_drop([easy])) == pytest.approx(1e-3)
    assert budget_rate(1e-3, 0.1, 600, drop=sweep_drop([hard])) > 4e-3
    assert full_steps(None) == FULL_STEPS
    assert sweep_drop([[float("nan")] * 3]) is None
