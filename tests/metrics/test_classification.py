"""Classification metrics, metric naming, focal loss and PR plots match hand-computed cases."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import sklearn.metrics
import torch
from torch.nn.functional import binary_cross_entropy_with_logits as bce_with_logits

from src.evaluation.plots import plot_pr_curve, plot_score_histogram
from src.metrics import (
    auprc,
    best_f_beta,
    binary_classification_metrics,
    f_beta,
    fbeta_name,
    format_threshold,
    precision_at_recall,
    precision_recall_curve,
    threshold_at_recall,
    with_threshold,
)
from src.tasks.losses import event_imbalance_alpha, focal_loss

# Hand-worked example, 4 positives. Points at each threshold t (keep score >= t):
#   t    0.9   0.8   0.7   0.6   0.5   0.4   0.3   0.2
#   TP   1     1     2     3     3     3     4     4
#   FP   0     1     1     1     2     3     3     4
#   P    1     1/2   2/3   3/4   3/5   1/2   4/7   1/2
#   R    1/4   1/4   1/2   3/4   3/4   3/4   1     1
# precision@recall0.5 = max(2/3, 3/4, 3/5, 1/2, 4/7, 1/2) = 3/4 (not the 2/3 at the first point reaching it),
# threshold@recall0.5 = 0.7, @0.75 = 0.6, @1 = 0.3.
# AUPRC = Σ ΔR·P = 1/4·(1 + 2/3 + 3/4 + 4/7) = 251/336.
# At t = 0.5 (score 0.5 kept): TP 3, FP 2, FN 1 → F1 = 2·3/(2·3 + 1 + 2) = 2/3,
#   F3 = 10·3/(10·3 + 9·1 + 2) = 30/41.
# Best F1 = 2TP/(TP + FP + 4): 3/4 at t = 0.6; best F3 = 10TP/(TP + FP + 36): 40/43 at t = 0.3.
HAND_SCORES = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2]
HAND_LABELS = [1, 0, 1, 1, 0, 0, 1, 0]

# Ties: the three 0.8s are kept together (TP 1, FP 2: P = 1/3, R = 1/2); then t = 0.2 (P = 1/2, R = 1).
# A tie-splitting implementation would report precision 1 at recall 1/2. AUPRC = 1/2·1/3 + 1/2·1/2 = 5/12.
TIE_SCORES = [0.8, 0.8, 0.8, 0.2]
TIE_LABELS = [0, 1, 0, 1]

PERFECT_SCORES = [0.95, 0.9, 0.6, 0.4, 0.1, 0.05]
PERFECT_LABELS = [1, 1, 1, 0, 0, 0]

RANKED_SCORES = list(range(100, -1, -1))  # 100 positives scored 100..1, one negative scored 0
RANKED_LABELS = [1] * 100 + [0]

# (scores, labels, recall, precision@recall, threshold@recall)
AT_RECALL_CASES = [
    pytest.param(HAND_SCORES, HAND_LABELS, 0.25, 1.0, 0.9, id="hand-0.25"),
    pytest.param(HAND_SCORES, HAND_LABELS, 0.5, 3 / 4, 0.7, id="hand-0.5"),
    pytest.param(HAND_SCORES, HAND_LABELS, 0.75, 3 / 4, 0.6, id="hand-0.75"),
    pytest.param(HAND_SCORES, HAND_LABELS, 0.99, 4 / 7, 0.3, id="hand-0.99"),
    pytest.param(HAND_SCORES, HAND_LABELS, 1.0, 4 / 7, 0.3, id="hand-1"),
    pytest.param(TIE_SCORES, TIE_LABELS, 0.5, 1 / 2, 0.8, id="ties-0.5"),
    pytest.param(TIE_SCORES, TIE_LABELS, 1.0, 1 / 2, 0.2, id="ties-1"),
    pytest.param([0.5] * 4, [1, 0, 1, 0], 0.99, 1 / 2, 0.5, id="all-tied"),
    pytest.param(PERFECT_SCORES, PERFECT_LABELS, 1 / 3, 1.0, 0.95, id="perfect-1/3"),
    pytest.param(PERFECT_SCORES, PERFECT_LABELS, 0.99, 1.0, 0.6, id="perfect-0.99"),
    pytest.param(PERFECT_SCORES, PERFECT_LABELS, 1.0, 1.0, 0.6, id="perfect-1"),
    # 0.07 × 100 = 7.000000000000001 in floats: the 7th positive (score 94) must still suffice.
    pytest.param(RANKED_SCORES, RANKED_LABELS, 0.07, 1.0, 94.0, id="float-noise-0.07"),
    pytest.param(RANKED_SCORES, RANKED_LABELS, 0.99, 1.0, 2.0, id="float-noise-0.99"),
]


@pytest.mark.parametrize(("scores", "labels", "recall", "precision", "threshold"), AT_RECALL_CASES)
def test_precision_and_threshold_at_recall(scores, labels, recall, precision, threshold) -> None:
    assert precision_at_recall(scores, labels, recall=recall) == pytest.approx(precision)
    assert threshold_at_recall(scores, labels, recall=recall) == pytest.approx(threshold)


@pytest.mark.parametrize(
    ("scores", "labels", "expected"),
    [
        pytest.param(HAND_SCORES, HAND_LABELS, 251 / 336, id="hand"),
        pytest.param(TIE_SCORES, TIE_LABELS, 5 / 12, id="ties"),
        pytest.param(PERFECT_SCORES, PERFECT_LABELS, 1.0, id="perfect"),
        pytest.param([0.5] * 4, [1, 0, 1, 0], 1 / 2, id="all-tied"),
    ],
)
def test_auprc(scores, labels, expected) -> None:
    assert auprc(scores, labels) == pytest.approx(expected)
    assert auprc(scores, labels) == pytest.approx(sklearn.metrics.average_precision_score(labels, scores))


# (scores, labels, beta, (F at 0.5, best F, threshold of best F))
F_BETA_CASES = [
    pytest.param(HAND_SCORES, HAND_LABELS, 1.0, (2 / 3, 3 / 4, 0.6), id="hand-f1"),
    pytest.param(HAND_SCORES, HAND_LABELS, 3.0, (30 / 41, 40 / 43, 0.3), id="hand-f3"),
    pytest.param(PERFECT_SCORES, PERFECT_LABELS, 1.0, (1.0, 1.0, 0.6), id="perfect-f1"),
    # Nothing kept at 0.5 → F = 0; keeping the tie at 0.2 gives TP 1, FP 1, FN 0: F1 = 2/3.
    pytest.param([0.2, 0.2], [1, 0], 1.0, (0.0, 2 / 3, 0.2), id="nothing-kept"),
]


@pytest.mark.parametrize(("scores", "labels", "beta", "expected"), F_BETA_CASES)
def test_f_beta(scores, labels, beta, expected) -> None:
    at_half = f_beta(scores, labels, beta=beta)
    best, best_threshold = best_f_beta(scores, labels, beta=beta)
    assert (at_half, best, best_threshold) == pytest.approx(expected)


def test_f_beta_matches_sklearn_at_threshold() -> None:
    rng = np.random.default_rng(1)
    labels = rng.random(500) < 0.2
    scores = np.round(np.clip(labels * 0.3 + rng.random(500) * 0.8, 0, 1), 2)
    for beta, threshold in [(1.0, 0.5), (3.0, 0.5), (0.5, 0.7)]:
        expected = sklearn.metrics.fbeta_score(labels, scores >= threshold, beta=beta)
        assert f_beta(scores, labels, beta=beta, threshold=threshold) == pytest.approx(expected)


def test_curve_conventions_and_sklearn_agreement() -> None:
    precision, recall, thresholds = precision_recall_curve(HAND_SCORES, HAND_LABELS)
    np.testing.assert_allclose(thresholds, [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2])
    np.testing.assert_allclose(precision, [1, 1 / 2, 2 / 3, 3 / 4, 3 / 5, 1 / 2, 4 / 7, 1 / 2])
    np.testing.assert_allclose(recall, [1 / 4, 1 / 4, 1 / 2, 3 / 4, 3 / 4, 3 / 4, 1, 1])

    rng = np.random.default_rng(0)
    labels = rng.random(2000) < 0.1
    scores = np.round(rng.random(2000) + 0.5 * labels, 2)  # heavy ties
    precision, recall, thresholds = precision_recall_curve(torch.tensor(scores), torch.tensor(labels))
    sk_p, sk_r, sk_t = sklearn.metrics.precision_recall_curve(labels, scores)
    # sklearn: increasing thresholds plus a final (precision 1, recall 0) point;
    # ours: decreasing thresholds, no end point.
    np.testing.assert_allclose(thresholds, sk_t[::-1])
    np.testing.assert_allclose(precision, sk_p[:-1][::-1])
    np.testing.assert_allclose(recall, sk_r[:-1][::-1])


def test_random_scores_auprc_is_positive_fraction() -> None:
    rng = np.random.default_rng(42)
    labels = rng.random(200_000) < 0.1
    scores = rng.random(200_000)
    assert auprc(scores, labels) == pytest.approx(labels.mean(), abs=0.005)


UNDEFINED_INPUTS = [
    pytest.param([], [], id="empty"),
    pytest.param([0.9, 0.5, 0.1], [0, 0, 0], id="all-negative"),
    pytest.param([0.9, math.nan, 0.1], [1, 0, 1], id="nan-score"),
]


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize(("scores", "labels"), UNDEFINED_INPUTS)
def test_undefined_inputs_give_nan_without_warnings(scores, labels) -> None:
    scores, labels = np.asarray(scores, dtype=float), np.asarray(labels, dtype=int)
    assert math.isnan(precision_at_recall(scores, labels, recall=0.99))
    assert math.isnan(threshold_at_recall(scores, labels, recall=0.99))
    assert math.isnan(auprc(scores, labels))
    assert math.isnan(f_beta(scores, labels, beta=1.0))
    assert all(math.isnan(v) for v in best_f_beta(scores, labels, beta=3.0))
    assert all(a.size == 0 for a in precision_recall_curve(scores, labels))
    metrics = binary_classification_metrics(scores, labels)
    assert len(metrics) == 9
    assert all(math.isnan(v) for v in metrics.values())


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(lambda: auprc([0.1, 0.2], [1, 2]), "labels", id="bad-labels"),
        pytest.param(lambda: auprc([0.1, 0.2], [1]), "length", id="length"),
        pytest.param(lambda: precision_at_recall([0.1], [1], recall=1.5), "recall", id="recall"),
        pytest.param(lambda: f_beta([0.1], [1], beta=0.0), "beta", id="beta"),
    ],
)
def test_malformed_input_raises(call, message) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_binary_classification_metrics_keys_and_values() -> None:
    metrics = binary_classification_metrics(HAND_SCORES, HAND_LABELS, recalls=(0.5, 0.99))
    assert list(metrics) == [
        "precision@recall0.5",
        "precision@recall0.99",
        "threshold@recall0.5",
        "threshold@recall0.99",
        "auprc",
        "f1",
        "f1_best",
        "fbeta3",
        "fbeta3_best",
    ]
    assert all(type(v) is float for v in metrics.values())
    expected = [3 / 4, 4 / 7, 0.7, 0.3, 251 / 336, 2 / 3, 3 / 4, 30 / 41, 40 / 43]
    assert list(metrics.values()) == pytest.approx(expected)

    default = binary_classification_metrics(PERFECT_SCORES, PERFECT_LABELS, beta=0.5)
    assert set(default) == {
        "precision@recall0.99",
        "precision@recall0.999",
        "threshold@recall0.99",
        "threshold@recall0.999",
        "auprc",
        "f1",
        "f1_best",
        "fbeta0.5",
        "fbeta0.5_best",
    }


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.99, "0.99"), (0.999, "0.999"), (0.9, "0.9"), (0.0, "0.0"), (1, "1.0"), (0.1 + 0.2, "0.3")],
)
def test_format_threshold(value, text) -> None:
    assert format_threshold(value) == text


def test_metric_names() -> None:
    assert with_threshold("precision@recall", 0.99) == "precision@recall0.99"
    assert with_threshold("eff_dm_pt", 0.9) == "eff_dm_pt0.9"
    assert [fbeta_name(b) for b in (1.0, 3.0, 0.5, 2)] == ["f1", "fbeta3", "fbeta0.5", "fbeta2"]
    with pytest.raises(ValueError):
        format_threshold(math.inf)


# ---------------------------------------------------------------- focal loss


LOGITS = torch.tensor([3.0, -2.0, 0.5, -0.1, 4.0, -5.0])
TARGETS = torch.tensor([1.0, 0.0, 0.0, 1.0, 0.0, 1.0])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_focal_gamma0_is_bce(reduction) -> None:
    expected = bce_with_logits(LOGITS, TARGETS, reduction=reduction)
    torch.testing.assert_close(focal_loss(LOGITS, TARGETS, gamma=0.0, reduction=reduction), expected)


def test_focal_gamma_downweights_easy_examples() -> None:
    logits, targets = torch.tensor([4.0, -0.5]), torch.tensor([1.0, 1.0])  # easy, hard
    bce = bce_with_logits(logits, targets, reduction="none")
    ratios = [focal_loss(logits, targets, gamma=g, reduction="none") / bce for g in (0.0, 1.0, 2.0, 5.0)]
    easy_to_hard = [float(r[0] / r[1]) for r in ratios]
    assert easy_to_hard[0] == pytest.approx(1.0)
    assert all(a > b for a, b in itertools.pairwise(easy_to_hard))
    # (1 - p_t)^2 with p_t = sigmoid(4) for the easy example.
    assert float(ratios[2][0]) == pytest.approx((1 - torch.sigmoid(torch.tensor(4.0)).item()) ** 2, rel=1e-5)


def test_focal_alpha_is_normalised_weighted_mean() -> None:
    per_object = focal_loss(LOGITS, TARGETS, reduction="none")
    weights = torch.where(TARGETS > 0.5, 3.0, 1.0)
    weighted = focal_loss(LOGITS, TARGETS, alpha=3.0, reduction="none")
    torch.testing.assert_close(weighted, weights * per_object)
    expected_mean = (weights * per_object).sum() / weights.sum()
    torch.testing.assert_close(focal_loss(LOGITS, TARGETS, alpha=3.0), expected_mean)
    torch.testing.assert_close(focal_loss(LOGITS, TARGETS, alpha=torch.full((6,), 3.0)), expected_mean)
    torch.testing.assert_close(focal_loss(LOGITS, TARGETS, alpha=3.0, reduction="sum"), weighted.sum())


def test_event_imbalance_alpha_two_events() -> None:
    # Event 0: 1 true, 3 fake → 2 × 3/1 = 6; event 1: 2 true, 1 fake → 2 × 1/2 = 1 (order need not be sorted).
    targets = torch.tensor([1, 0, 0, 1, 1, 0, 0])
    batch = torch.tensor([0, 0, 0, 1, 1, 1, 0])
    torch.testing.assert_close(event_imbalance_alpha(targets, batch), torch.tensor([6.0, 6, 6, 1, 1, 1, 6]))
    torch.testing.assert_close(
        event_imbalance_alpha(targets.bool(), batch, multiplier=1.0),
        torch.tensor([3.0, 3, 3, 0.5, 0.5, 0.5, 3]),
    )
    # An event without true objects falls back to ratio 1 (weight = multiplier).
    no_true = event_imbalance_alpha(torch.tensor([0.0, 0.0, 1.0]), torch.tensor([0, 0, 1]), multiplier=2.0)
    torch.testing.assert_close(no_true, torch.tensor([2.0, 2.0, 0.0]))


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 5.0])
def test_focal_gradients_finite_for_extreme_logits(gamma) -> None:
    logits = torch.tensor([-1e4, 1e4, -100.0, 100.0, 0.0, 30.0], requires_grad=True)
    targets = torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0, 1.0])
    alpha = event_imbalance_alpha(targets, torch.tensor([0, 0, 0, 1, 1, 1]))
    loss = focal_loss(logits, targets, gamma=gamma, alpha=alpha)
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(logits.grad).all()


# ---------------------------------------------------------------- plots


def test_plots_write_png(tmp_path) -> None:
    rng = np.random.default_rng(3)
    labels = rng.random(2000) < 0.1
    scores = np.clip(0.4 * labels + 0.6 * rng.random(2000), 0, 1)
    precision, recall, _ = precision_recall_curve(scores, labels)
    metrics = binary_classification_metrics(scores, labels)
    for path in (
        plot_pr_curve(precision, recall, tmp_path / "pr_default.png", title="test"),
        plot_pr_curve(precision, recall, tmp_path / "pr_marks.png", marks={"99% recall": (0.99, 0.2)}),
        plot_score_histogram(
            scores, labels, tmp_path / "sub" / "hist.png", threshold=metrics["threshold@recall0.99"]
        ),
    ):
        assert path.stat().st_size > 0
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_focal_loss_of_an_empty_batch_is_zero() -> None:
    logits = torch.zeros(0, requires_grad=True)
    loss = focal_loss(logits, torch.zeros(0), alpha=torch.zeros(0))
    loss.backward()
    assert loss.item() == 0.0 and torch.isfinite(loss)
