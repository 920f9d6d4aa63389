"""Evaluation metrics against values worked out by hand on small fixed examples."""

from __future__ import annotations

import numpy as np
import pytest

from trainers.evaluation.calibration import reliability
from trainers.evaluation.class_metrics import class_metrics, macro_average, weighted_average
from trainers.evaluation.compute import evaluation_from_probs
from trainers.evaluation.confusion import confusion_counts, row_normalised
from trainers.evaluation.evaluation import Evaluation
from trainers.evaluation.mistakes import top_mistakes

# 10 samples, 3 classes. By hand: true 0 -> predicted 0,1,0,0 ; true 1 -> 1,0 ; true 2 -> 2,2,0,2
Y_TRUE = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 0])
Y_PRED = np.array([0, 1, 0, 1, 0, 2, 2, 0, 2, 0])


def test_confusion_counts_and_rows() -> None:
    counts = confusion_counts(Y_TRUE, Y_PRED, 3)
    assert counts.tolist() == [[3, 1, 0], [1, 1, 0], [1, 0, 3]]
    assert counts.dtype == np.int64
    np.testing.assert_allclose(row_normalised(counts), [[0.75, 0.25, 0], [0.5, 0.5, 0], [0.25, 0, 0.75]])


def test_per_class_metrics_and_averages_by_hand() -> None:
    m = class_metrics(confusion_counts(Y_TRUE, Y_PRED, 3))
    # predicted column totals 5, 2, 3; supports 4, 2, 4
    np.testing.assert_allclose(m.precision, [3 / 5, 1 / 2, 3 / 3])
    np.testing.assert_allclose(m.recall, [3 / 4, 1 / 2, 3 / 4])
    np.testing.assert_allclose(m.f1, [2 / 3, 1 / 2, 6 / 7])
    assert m.support.tolist() == [4, 2, 4]
    macro, weighted = macro_average(m), weighted_average(m)
    assert macro.precision == pytest.approx(0.7)
    assert macro.recall == pytest.approx(2 / 3)
    assert macro.f1 == pytest.approx(85 / 126)
    assert weighted.precision == pytest.approx(0.74)
    assert weighted.recall == pytest.approx(0.7)  # weighted recall is the accuracy
    assert weighted.f1 == pytest.approx(149 / 210)


def test_a_class_absent_and_never_predicted_scores_zero_not_nan() -> None:
    counts = confusion_counts(Y_TRUE, Y_PRED, 4)
    assert counts[3].tolist() == [0, 0, 0, 0] and counts[:, 3].tolist() == [0, 0, 0, 0]
    assert row_normalised(counts)[3].tolist() == [0, 0, 0, 0]
    m = class_metrics(counts)
    assert (m.precision[3], m.recall[3], m.f1[3], m.support[3]) == (0, 0, 0, 0)
    assert macro_average(m).precision == pytest.approx(2.1 / 4)  # the empty class counts in the macro mean
    assert weighted_average(m).precision == pytest.approx(0.74)  # but has no weight


def test_expected_calibration_error_by_hand() -> None:
    conf = np.array([0.95, 0.85, 0.85, 0.6, 0.3, 0.25])
    right = np.array([1, 1, 0, 1, 0, 1])
    r = reliability(conf, right, n_bins=10)
    # bins (lo, hi]: 0.95 -> 9, 0.85 -> 8 (twice), 0.6 -> 5, 0.3 and 0.25 -> 2
    assert r.counts.tolist() == [0, 0, 2, 0, 0, 1, 0, 0, 2, 1]
    np.testing.assert_allclose(r.accuracy[[2, 5, 8, 9]], [0.5, 1.0, 0.5, 1.0])
    np.testing.assert_allclose(r.confidence[[2, 5, 8, 9]], [0.275, 0.6, 0.85, 0.95])
    # |acc - conf| * n: 0.225*2 + 0.4*1 + 0.35*2 + 0.05*1 = 1.6, over 6 samples
    assert r.ece == pytest.approx(1.6 / 6)
    np.testing.assert_allclose(r.edges, np.linspace(0, 1, 11))


def test_calibration_edges_zero_confidence_and_a_perfect_model() -> None:
    r = reliability(np.array([0.0, 1.0, 1.0]), np.array([0, 1, 1]), n_bins=5)
    assert r.counts.tolist() == [1, 0, 0, 0, 2]
    assert r.ece == pytest.approx(0.0)
    assert reliability(np.array([0.5]), np.array([0]), n_bins=1).ece == pytest.approx(0.5)
    with pytest.raises(ValueError, match="n_bins"):
        reliability(np.array([0.5]), np.array([1]), n_bins=0)


def test_most_confident_mistakes_come_first() -> None:
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7], [0.7, 0.3]])
    y = np.array([0, 0, 1, 1, 1])  # wrong: sample 1 (0.8 for class 1), 2 (0.6), 4 (0.7)
    got = top_mistakes(probs, y, k=2)
    assert [(m.index, m.true, m.predicted) for m in got] == [(1, 0, 1), (4, 1, 0)]
    assert [m.confidence for m in got] == pytest.approx([0.8, 0.7])
    assert top_mistakes(probs[:1], y[:1]) == []


def test_evaluation_round_trips_through_json() -> None:
    probs = np.eye(3)[Y_PRED] * 0.7 + 0.1
    ev = evaluation_from_probs(probs, Y_TRUE, ("a", "b", "c"), trial_id=5, split="val")
    assert ev.accuracy == pytest.approx(0.7) and ev.samples == 10
    assert ev.macro.f1 == pytest.approx(85 / 126)
    assert ev.ece == pytest.approx(0.1)  # every confidence 0.8 (0.7 + 0.1) in one bin, 70% right
    assert [(m.true, m.predicted) for m in ev.mistakes][:1] == [("a", "b")]
    back = Evaluation.from_json(ev.to_json())
    assert back.to_dict() == ev.to_dict()
    assert back.confusion.dtype == np.int64 and back.confusion.tolist() == ev.confusion.tolist()
    assert back.mistakes == ev.mistakes
