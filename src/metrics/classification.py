"""Binary classification metrics for heavily imbalanced problems (e.g. true vs fake line segments).

Conventions shared by every function here:

* ``scores`` are real-valued, higher = more positive-like (probabilities or logits); ``labels`` are 1/True for
  the positive class and 0/False for the negative one. Both are numpy arrays or torch tensors (any device,
  with or without grad), flattened to 1-D.
* A threshold ``t`` *keeps* (predicts positive) every object with ``score >= t``. Tied scores are therefore
  kept or dropped together: the PR curve has exactly one point per distinct score value, and no point ever
  splits a tie (unlike an implementation that walks a sorted list object by object).
* Recall is ``TP / #positives``, precision ``TP / #kept``. Every curve point keeps at least one object, so
  precision is always defined on the curve.
* Undefined input gives ``nan`` (scalars) or empty arrays (curve), never an exception or a numpy warning:
  empty input, no positive label (recall undefined), or any NaN score (the ranking is undefined).
  Malformed input (labels other than 0/1, mismatched lengths, a requested recall outside [0, 1], beta <= 0)
  raises ``ValueError``.
* Thresholds are always one of the input scores, returned as float64; a float32 score converts to it
  exactly, so ``scores >= t`` reproduces the working point on the original float32 scores.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import torch

from src.metrics.naming import fbeta_name, with_threshold

ArrayLike = npt.ArrayLike | torch.Tensor

#: Slack when turning a recall level into a number of true positives, so 0.99 × 100 needs 99, not 100.
_RECALL_SLACK = 1e-9


class PRCurve(NamedTuple):
    """Precision-recall curve, one point per distinct score, ordered by decreasing threshold.

    Point ``i`` keeps every object with ``score >= thresholds[i]``; ``recall`` is non-decreasing and ends
    at 1. No artificial (recall 0, precision 1) end point is added.
    """

    precision: np.ndarray
    recall: np.ndarray
    thresholds: np.ndarray


class BestFBeta(NamedTuple):
    """Best F-beta over all thresholds, and the (highest) threshold reaching it."""

    value: float
    threshold: float


@dataclass(frozen=True)
class _Counts:
    """Cumulative counts at each distinct score, in decreasing score order."""

    thresholds: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    n_pos: int

    @property
    def precision(self) -> np.ndarray:
        return self.tp / (self.tp + self.fp)

    @property
    def recall(self) -> np.ndarray:
        return self.tp / self.n_pos


def _to_numpy(x: ArrayLike) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x).ravel()


def _counts(scores: ArrayLike, labels: ArrayLike) -> _Counts | None:
    """Validate the inputs and count TP/FP per distinct score; ``None`` where the metrics are undefined."""
    s = _to_numpy(scores).astype(np.float64)
    y = _to_numpy(labels)
    if s.shape != y.shape:
        raise ValueError(f"scores and labels differ in length: {s.size} vs {y.size}")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0/1 (or boolean)")
    y = y.astype(bool)
    n_pos = int(y.sum())
    if n_pos == 0 or np.isnan(s).any():
        return None
    order = np.argsort(s, kind="stable")[::-1]
    s, y = s[order], y[order]
    tp = np.cumsum(y, dtype=np.int64)
    fp = np.arange(1, s.size + 1, dtype=np.int64) - tp
    last_of_tie = np.append(np.flatnonzero(s[1:] != s[:-1]), s.size - 1)
    return _Counts(thresholds=s[last_of_tie], tp=tp[last_of_tie], fp=fp[last_of_tie], n_pos=n_pos)


def _check_recall(recall: float) -> None:
    if not 0.0 <= recall <= 1.0:
        raise ValueError(f"recall must lie in [0, 1], got {recall}")


def _check_beta(beta: float) -> None:
    if not (math.isfinite(beta) and beta > 0):
        raise ValueError(f"beta must be a positive finite number, got {beta}")


def _reaching(c: _Counts, recall: float) -> np.ndarray:
    """Mask of curve points whose recall is at least ``recall`` (compared in counts, not floats)."""
    return c.tp >= math.ceil(recall * c.n_pos - _RECALL_SLACK)


def _precision_at(c: _Counts | None, recall: float) -> float:
    return math.nan if c is None else float(c.precision[_reaching(c, recall)].max())


def _threshold_at(c: _Counts | None, recall: float) -> float:
    return math.nan if c is None else float(c.thresholds[np.argmax(_reaching(c, recall))])


def _auprc(c: _Counts | None) -> float:
    return math.nan if c is None else float(np.sum(np.diff(c.recall, prepend=0.0) * c.precision))


def _fbeta(tp: np.ndarray | int, fp: np.ndarray | int, n_pos: int, beta: float) -> np.ndarray | float:
    """F-beta = (1 + β²)·TP / ((1 + β²)·TP + β²·FN + FP) = (1 + β²)·TP / (TP + FP + β²·#positives)."""
    b2 = beta * beta
    return (1 + b2) * tp / (tp + fp + b2 * n_pos)


def _fbeta_at(c: _Counts | None, beta: float, threshold: float) -> float:
    if c is None:
        return math.nan
    n_kept_points = int(np.count_nonzero(c.thresholds >= threshold))
    if n_kept_points == 0:
        return 0.0
    i = n_kept_points - 1
    return float(_fbeta(int(c.tp[i]), int(c.fp[i]), c.n_pos, beta))


def _best_fbeta(c: _Counts | None, beta: float) -> BestFBeta:
    if c is None:
        return BestFBeta(math.nan, math.nan)
    f = _fbeta(c.tp, c.fp, c.n_pos, beta)
    i = int(np.argmax(f))
    return BestFBeta(float(f[i]), float(c.thresholds[i]))


def precision_recall_curve(scores: ArrayLike, labels: ArrayLike) -> PRCurve:
    """Precision and recall at every distinct score used as threshold (see :class:`PRCurve`).

    Empty arrays where the curve is undefined (empty input, no positives, NaN scores).
    """
    c = _counts(scores, labels)
    if c is None:
        empty = np.empty(0, dtype=np.float64)
        return PRCurve(empty, empty.copy(), empty.copy())
    return PRCurve(c.precision, c.recall, c.thresholds)


def precision_at_recall(scores: ArrayLike, labels: ArrayLike, *, recall: float) -> float:
    """Highest precision among thresholds whose recall is at least ``recall``.

    Ties move together (``score >= t``), so a tie mixing positives and negatives is never split in the
    positives' favour. ``recall=1`` gives the precision when keeping down to the lowest-scored positive.
    """
    _check_recall(recall)
    return _precision_at(_counts(scores, labels), recall)


def threshold_at_recall(scores: ArrayLike, labels: ArrayLike, *, recall: float) -> float:
    """Largest score ``t`` such that keeping ``score >= t`` reaches at least ``recall``.

    ``t`` is always one of the scores; for ``recall > 0`` no larger value reaches the recall at all.
    """
    _check_recall(recall)
    return _threshold_at(_counts(scores, labels), recall)


def auprc(scores: ArrayLike, labels: ArrayLike) -> float:
    """Area under the PR curve as step-wise average precision, Σ (Rₙ − Rₙ₋₁)·Pₙ, like sklearn's
    ``average_precision_score`` (no trapezoidal interpolation). A random classifier scores ≈ positive
    fraction."""
    return _auprc(_counts(scores, labels))


def f_beta(scores: ArrayLike, labels: ArrayLike, *, beta: float, threshold: float = 0.5) -> float:
    """F-beta of the objects kept at ``score >= threshold`` (default 0.5 on a probability); beta=1 is F1,
    beta > 1 weighs recall more. 0 when nothing is kept."""
    _check_beta(beta)
    return _fbeta_at(_counts(scores, labels), beta, threshold)


def best_f_beta(scores: ArrayLike, labels: ArrayLike, *, beta: float) -> BestFBeta:
    """Best F-beta over all thresholds ``score >= t``, with the highest threshold reaching it."""
    _check_beta(beta)
    return _best_fbeta(_counts(scores, labels), beta)


def binary_classification_metrics(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    recalls: tuple[float, ...] = (0.99, 0.999),
    beta: float = 3.0,
    threshold: float = 0.5,
) -> dict[str, float]:
    """All metrics above from one sort of the scores.

    Keys, with the defaults: ``precision@recall0.99``, ``precision@recall0.999``, ``threshold@recall0.99``,
    ``threshold@recall0.999`` (one pair per entry of ``recalls``), ``auprc``, ``f1`` and ``fbeta3`` taken
    at ``score >= threshold``, and ``f1_best`` and ``fbeta3_best``, the best over all thresholds. Every
    value is a float, ``nan`` where undefined (see the module docstring).
    """
    for r in recalls:
        _check_recall(r)
    _check_beta(beta)
    c = _counts(scores, labels)
    out: dict[str, float] = {}
    for r in recalls:
        out[with_threshold("precision@recall", r)] = _precision_at(c, r)
    for r in recalls:
        out[with_threshold("threshold@recall", r)] = _threshold_at(c, r)
    out["auprc"] = _auprc(c)
    for b in (1.0, beta):
        out[fbeta_name(b)] = _fbeta_at(c, b, threshold)
        out[f"{fbeta_name(b)}_best"] = _best_fbeta(c, b).value
    return out
