"""Particle-flow metrics: ΔR matching, response median and IQR/median (overall and in bins), per-class
efficiency and fake rate of element-wise particles.

Conventions (those of the MLPF studies):

* **Response** of a reconstructed quantity is ``reco / gen`` (jet pT, MET, particle energy); a set of
  responses is summarised by its median and by IQR/median, with IQR = p75 − p25 (a resolution that ignores
  tails). Empty sets give NaN.
* **Matching** pairs objects of two lists by ΔR = √(Δη² + Δφ²) below ``max_dr``, closest pairs first, each
  object at most once.
* **Efficiency** of class c: of the elements whose target is a particle of class c, the fraction whose
  prediction is a particle of class c; **fake rate** of class c: of the elements predicted as class c, the
  fraction whose target is not a particle of class c. Class 0 means no particle.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


def delta_r(eta1: npt.ArrayLike, phi1: npt.ArrayLike, eta2: npt.ArrayLike, phi2: npt.ArrayLike) -> np.ndarray:
    """ΔR = √(Δη² + Δφ²) with Δφ wrapped to [−π, π) (broadcasting)."""
    dphi = np.remainder(np.asarray(phi1, dtype=np.float64) - np.asarray(phi2) + np.pi, 2 * np.pi) - np.pi
    return np.hypot(np.asarray(eta1, dtype=np.float64) - np.asarray(eta2), dphi)


def match_by_dr(
    eta_a: npt.ArrayLike,
    phi_a: npt.ArrayLike,
    eta_b: npt.ArrayLike,
    phi_b: npt.ArrayLike,
    *,
    max_dr: float,
) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one ΔR matching of lists a and b: (indices into a, indices into b) of the matched pairs,
    closest pairs first, each object at most once, only pairs with ΔR < ``max_dr``."""
    eta_a, eta_b = np.asarray(eta_a, dtype=np.float64), np.asarray(eta_b, dtype=np.float64)
    if not len(eta_a) or not len(eta_b):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    dr = delta_r(eta_a[:, None], np.asarray(phi_a)[:, None], eta_b[None], np.asarray(phi_b)[None])
    ia, ib = np.nonzero(dr < max_dr)
    order = np.argsort(dr[ia, ib], kind="stable")
    used_a, used_b = np.zeros(len(eta_a), bool), np.zeros(len(eta_b), bool)
    out_a, out_b = [], []
    for a, b in zip(ia[order], ib[order], strict=True):
        if not used_a[a] and not used_b[b]:
            used_a[a] = used_b[b] = True
            out_a.append(a)
            out_b.append(b)
    return np.asarray(out_a, dtype=np.int64), np.asarray(out_b, dtype=np.int64)


@dataclass(frozen=True)
class ResponseSummary:
    """Median, interquartile range (p75 − p25) and IQR/median of a set of responses, and its size."""

    median: float
    iqr: float
    iqr_over_median: float
    n: int


def response_summary(ratios: npt.ArrayLike) -> ResponseSummary:
    """Summary of the finite values of ``ratios`` (NaN everywhere for none)."""
    r = np.asarray(ratios, dtype=np.float64).ravel()
    r = r[np.isfinite(r)]
    if not len(r):
        return ResponseSummary(float("nan"), float("nan"), float("nan"), 0)
    p25, median, p75 = np.percentile(r, [25, 50, 75])
    iqr = float(p75 - p25)
    ratio = iqr / median if median != 0 else float("nan")
    return ResponseSummary(float(median), iqr, float(ratio), len(r))


def binned_response(
    ratios: npt.ArrayLike, values: npt.ArrayLike, edges: Sequence[float]
) -> list[ResponseSummary]:
    """:func:`response_summary` of the ratios in each bin [edges[i], edges[i+1]) of ``values``."""
    r, v = np.asarray(ratios, dtype=np.float64), np.asarray(values, dtype=np.float64)
    return [response_summary(r[(v >= lo) & (v < hi)]) for lo, hi in itertools.pairwise(edges)]


def bin_label(lo: float, hi: float) -> str:
    """Suffix of a metric in the bin [lo, hi): ``pt10-20``."""
    return f"pt{lo:g}-{hi:g}"


def class_rates(
    target: npt.ArrayLike, predicted: npt.ArrayLike, class_names: Sequence[str]
) -> dict[str, float]:
    """``eff_<name>`` and ``fake_<name>`` of every particle class (index ≥ 1 of ``class_names``) from
    element-wise target and predicted class ids (NaN where a denominator is zero)."""
    t, p = np.asarray(target, dtype=np.int64), np.asarray(predicted, dtype=np.int64)
    if t.shape != p.shape:
        raise ValueError(f"target {t.shape} and predicted {p.shape} classes must have one entry per element")
    out = {}
    for c, name in enumerate(class_names):
        if c == 0:
            continue
        n_true, n_pred, n_both = int((t == c).sum()), int((p == c).sum()), int(((t == c) & (p == c)).sum())
        out[f"eff_{name}"] = n_both / n_true if n_true else float("nan")
        out[f"fake_{name}"] = (n_pred - n_both) / n_pred if n_pred else float("nan")
    return out
