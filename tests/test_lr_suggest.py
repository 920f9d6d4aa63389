"""Learning-rate suggestions from range test curves: synthetic curves with known answers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from trainers.lr_finder.suggest import (
    AGREEMENT_FACTOR,
    SUGGESTION_NAMES,
    Suggestions,
    agreement,
    combine,
    spreads,
    suggest,
)

ROOT = Path(__file__).resolve().parents[1]
LRS = np.logspace(-7, 1, 100)
TRUE_STEEPEST = 1e-3


def loss_curve(
    lrs: np.ndarray, blow_up_after: float = 1e-2, centre: float = TRUE_STEEPEST, width: float = 2.0
) -> np.ndarray:
    """Flat at 2.3, a sigmoid descent in log10(lr) steepest at `centre`, then a quadratic blow-up."""
    t = np.log10(lrs)
    descent = 2.0 / (1.0 + np.exp(-(t - np.log10(centre)) * width))
    return 2.3 - descent + 5.0 * np.maximum(0.0, t - np.log10(blow_up_after)) ** 2


def ema(values: np.ndarray, beta: float = 0.9) -> np.ndarray:
    """Bias-corrected exponential moving average, written out here so the test does not trust the app's."""
    avg, out = 0.0, []
    for n, value in enumerate(values, start=1):
        avg = beta * avg + (1 - beta) * value
        out.append(avg / (1 - beta**n))
    return np.array(out)


def within(value: float | None, target: float, factor: float) -> bool:
    return value is not None and target / factor <= value <= target * factor


def test_smooth_curve_gives_the_known_answers() -> None:
    loss = loss_curve(LRS)
    s = suggest(LRS, loss)
    assert s.clear_descent and s.message == ""
    assert within(s.values["steepest"], TRUE_STEEPEST, 1.3)
    i_min = int(np.argmin(loss))
    assert s.indices["min_div_10"] == i_min
    assert s.values["min_div_10"] == LRS[i_min] / 10
    # The descent runs from where the sigmoid has fallen 10% of its way (t = -3 - 1.1) to the minimum.
    start, end = -3 - np.log(9) / 2, np.log10(LRS[i_min])
    valley = np.log10(s.values["valley"])
    assert start <= valley <= end
    assert abs(valley - (start + end) / 2) < 0.5
    assert s.agreeing == SUGGESTION_NAMES
    lo, hi = s.agreed
    assert all(lo <= s.values[name] <= hi for name in SUGGESTION_NAMES)
    assert hi / lo <= AGREEMENT_FACTOR


def test_a_spurious_drop_in_the_first_points_is_skipped() -> None:
    loss = loss_curve(LRS)
    loss[:2] = [60.0, 20.0]
    assert suggest(LRS, loss, skip_start=0).indices["steepest"] in (0, 1)  # what the skip protects against
    for s in (suggest(LRS, loss), suggest(LRS, loss, skip_start=2)):
        assert s.indices["steepest"] >= 2
        assert within(s.values["steepest"], TRUE_STEEPEST, 1.3)


def test_a_steep_fall_after_the_minimum_is_never_suggested() -> None:
    loss = loss_curve(LRS, blow_up_after=1e-1)
    i_min = int(np.argmin(loss))
    # The diverging loss spikes and falls back steeply, far more steeply than the real descent.
    loss[i_min + 3 : i_min + 6] += [20.0, 40.0, 5.0]
    s = suggest(LRS, loss)
    assert s.indices["min_div_10"] == i_min
    assert all(s.indices[name] <= i_min for name in SUGGESTION_NAMES)
    assert within(s.values["steepest"], TRUE_STEEPEST, 1.3)


def test_linear_spacing_uses_the_log_lr_slope() -> None:
    lrs = np.linspace(1e-4, 1.0, 500)
    loss = loss_curve(lrs, blow_up_after=0.6, centre=0.2, width=5.0)
    s = suggest(lrs, loss)
    assert s.clear_descent
    assert within(s.values["steepest"], 0.2, 1.1)
    assert within(s.values["valley"], 0.2, 1.3)
    # Per index the curve is steepest lower (points are dense in log-lr there): a slope per index misses.
    lo, i_min = len(lrs) // 10, int(np.argmin(loss))
    assert not within(float(lrs[lo + np.argmin(np.gradient(loss[lo:i_min]))]), 0.2, 1.3)


@pytest.mark.parametrize("with_raw", [True, False])
def test_a_flat_curve_has_no_suggestion(with_raw: bool) -> None:
    raw = 2.3 + np.random.default_rng(0).normal(0.0, 0.01, len(LRS))
    s = suggest(LRS, ema(raw), raw if with_raw else None)
    assert not s.clear_descent
    assert "no clear descent" in s.message
    assert s.values == dict.fromkeys(SUGGESTION_NAMES)
    assert s.indices == dict.fromkeys(SUGGESTION_NAMES)
    assert s.agreed is None and s.agreeing == ()


@pytest.mark.parametrize("rise_from", [1e-6, 1e-3])
def test_an_already_trained_model_has_no_clear_descent(rise_from: float) -> None:
    t = np.log10(LRS)
    loss = 0.05 + 0.5 * np.maximum(0.0, t - np.log10(rise_from)) ** 2
    raw = loss * np.random.default_rng(1).lognormal(0.0, 0.05, len(LRS))
    s = suggest(LRS, ema(raw), raw)
    assert "no clear descent" in s.message
    assert s.values == dict.fromkeys(SUGGESTION_NAMES) and s.agreed is None


def test_a_loss_that_only_rises_says_so() -> None:
    s = suggest(LRS, 0.05 + 0.1 * (np.log10(LRS) + 7))
    assert s.message.startswith("no clear descent: the smoothed loss only rises after the first 10 points")


def test_noise_alone_is_no_clear_descent() -> None:
    # Batches scattering by 30% around a flat 2.3: the smoothed curve often dips more than 10% by chance,
    # and only the raw losses can tell that this is noise.
    with_raw = without_raw = caught_by_noise = 0
    for seed in range(20):
        raw = 2.3 * np.random.default_rng(seed).lognormal(0.0, 0.3, len(LRS))
        s = suggest(LRS, ema(raw), raw)
        with_raw += s.clear_descent
        caught_by_noise += "within the noise" in s.message
        without_raw += suggest(LRS, ema(raw)).clear_descent
    assert with_raw <= 2
    assert without_raw >= 10 and caught_by_noise >= 10


@pytest.mark.parametrize("iterations", [100, 300])
@pytest.mark.parametrize("seed", range(10))
def test_the_valley_stays_near_the_true_steepest_point_on_noisy_curves(iterations: int, seed: int) -> None:
    lrs = np.logspace(-7, 1, iterations)
    loss = loss_curve(lrs, blow_up_after=1e-1)
    raw = loss * np.random.default_rng(seed).lognormal(0.0, 0.2, iterations)  # batches scatter by about 20%
    s = suggest(lrs, ema(raw), raw)
    assert s.clear_descent
    assert within(s.values["valley"], TRUE_STEEPEST, 3.0), s.values


def test_the_ema_delay_is_taken_back_when_raw_losses_are_given() -> None:
    loss = loss_curve(LRS, blow_up_after=1e-1)
    smoothed = ema(loss)
    late = suggest(LRS, smoothed)
    assert late.values["valley"] > 2.5 * TRUE_STEEPEST  # the smoothed curve shows the descent late
    s = suggest(LRS, smoothed, loss)
    assert within(s.values["valley"], TRUE_STEEPEST, 1.5)
    assert s.indices["valley"] < late.indices["valley"]
    assert s.indices["min_div_10"] == late.indices["min_div_10"]


def test_agreement_of_all_three_spans_all_three() -> None:
    band, names = agreement({"steepest": 1e-3, "valley": 2e-3, "min_div_10": 3e-3})
    assert band == (1e-3, 3e-3) and names == SUGGESTION_NAMES


def test_agreement_of_two_leaves_the_far_one_out() -> None:
    band, names = agreement({"steepest": 1e-5, "valley": 1e-3, "min_div_10": 2e-3})
    assert band == (1e-3, 2e-3) and names == ("valley", "min_div_10")


def test_no_agreement_and_none_values() -> None:
    assert agreement({"steepest": 1e-5, "valley": 1e-3, "min_div_10": 1e-1}) == (None, ())
    assert agreement({"steepest": None, "valley": 1e-3, "min_div_10": 2e-3}) == ((1e-3, 2e-3), ("valley", "min_div_10"))
    assert agreement({"steepest": None, "valley": None, "min_div_10": 1e-3}) == (None, ())
    assert agreement(dict.fromkeys(SUGGESTION_NAMES)) == (None, ())


def test_agreement_ties_prefer_valley_and_factor_is_a_parameter() -> None:
    values = {"steepest": 1e-3, "valley": 5e-3, "min_div_10": 2e-3}
    # steepest+min_div_10 is the narrower pair, but a pair with valley wins the tie.
    assert agreement(values) == ((2e-3, 5e-3), ("valley", "min_div_10"))
    assert agreement(values, factor=5.0) == ((1e-3, 5e-3), SUGGESTION_NAMES)
    with pytest.raises(ValueError):
        agreement(values, factor=0.5)


def run(
    steepest: float | None, valley: float | None, min_div_10: float | None, message: str = "", index: int = 0
) -> Suggestions:
    values = {"steepest": steepest, "valley": valley, "min_div_10": min_div_10}
    band, names = agreement(values)
    return Suggestions(values, dict.fromkeys(SUGGESTION_NAMES, index), band, names, message)


def test_combine_takes_the_geometric_median_and_spreads_the_range() -> None:
    runs = [run(1e-3, None, None, "no clear descent: x", index=7), run(1e-4, 1e-3, None), run(1e-2, 4e-3, None)]
    c = combine(runs)
    assert c.values["steepest"] == pytest.approx(1e-3)
    assert c.values["valley"] == pytest.approx(2e-3)  # median of two logs: their geometric mean
    assert c.values["min_div_10"] is None
    assert c.agreed == (pytest.approx(1e-3), pytest.approx(2e-3)) and c.agreeing == ("steepest", "valley")
    assert c.indices == dict.fromkeys(SUGGESTION_NAMES, 7)
    assert c.clear_descent
    assert spreads(runs) == {"steepest": (1e-4, 1e-2), "valley": (1e-3, 4e-3), "min_div_10": None}


def test_combine_keeps_the_message_when_no_run_descends() -> None:
    runs = [run(None, None, None, "no clear descent: first"), run(None, None, None, "no clear descent: second")]
    c = combine(runs)
    assert c.message == "no clear descent: first" and not c.clear_descent
    assert c.values == dict.fromkeys(SUGGESTION_NAMES) and c.agreed is None
    assert spreads(runs) == dict.fromkeys(SUGGESTION_NAMES)
    with pytest.raises(ValueError):
        combine([])


def test_combine_of_real_repeats() -> None:
    loss = loss_curve(LRS)
    runs = [
        suggest(LRS, ema(raw), raw)
        for raw in (loss * np.random.default_rng(seed).lognormal(0.0, 0.1, len(LRS)) for seed in range(5))
    ]
    c, spread = combine(runs), spreads(runs)
    for name in SUGGESTION_NAMES:
        lo, hi = spread[name]
        assert lo <= c.values[name] <= hi


def test_mismatched_lengths_are_rejected() -> None:
    with pytest.raises(ValueError, match="same length"):
        suggest(LRS, loss_curve(LRS)[:-1])
    with pytest.raises(ValueError, match="same length"):
        suggest(LRS, loss_curve(LRS), loss_curve(LRS)[:-3])
    with pytest.raises(ValueError, match="increasing"):
        suggest(LRS[::-1], loss_curve(LRS))
    with pytest.raises(ValueError, match="positive"):
        suggest(LRS - 1e-3, loss_curve(LRS))


@pytest.mark.parametrize("end", [np.nan, np.inf])
def test_a_diverged_tail_is_cut(end: float) -> None:
    loss = loss_curve(LRS)
    cut = suggest(LRS, np.concatenate([loss[:90], [end] * 10]))
    assert cut.clear_descent
    assert cut == suggest(LRS[:90], loss[:90])


@pytest.mark.parametrize("end", [np.nan, np.inf])
def test_lists_are_accepted_and_short_curves_say_so(end: float) -> None:
    loss = loss_curve(LRS)
    assert suggest(list(LRS), tuple(loss)) == suggest(LRS, loss)
    s = suggest([1e-4, 1e-3, 1e-2], [2.0, 1.0, 3.0])
    assert s.message == "too few points (3) to read a suggestion: run more iterations"
    assert s.values == dict.fromkeys(SUGGESTION_NAMES) and not s.clear_descent
    assert "too few points (4)" in suggest(LRS[:10], list(loss[:4]) + [end] * 6).message


@pytest.mark.slow
def test_the_module_loads_neither_torch_nor_qt() -> None:
    probe = "import trainers.lr_finder.suggest, sys; print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    loaded = {line.split(".")[0] for line in out.stdout.splitlines()}
    assert "trainers" in loaded
    assert not loaded & {"torch", "PySide6", "pyqtgraph", "qasync", "shiboken6"}
