"""Particle-flow metrics on hand-made cases: response median and IQR/median, binning, ΔR matching
(closest first, one-to-one, wrapping in φ), per-class efficiency and fake rate."""

from __future__ import annotations

import math

import numpy as np
import pytest

from src.metrics.particle_flow import (
    bin_label,
    binned_response,
    class_rates,
    delta_r,
    match_by_dr,
    response_summary,
)


@pytest.mark.parametrize(
    ("ratios", "median", "iqr"),
    [
        ([1.0, 1.0, 1.0], 1.0, 0.0),  # perfect
        ([0.8, 0.9, 1.0, 1.1, 1.2], 1.0, 0.2),  # p25 = 0.9, p75 = 1.1
        ([1.0, 2.0, 3.0, 4.0], 2.5, 1.5),  # linear interpolation: p25 = 1.75, p75 = 3.25
        ([0.5, 0.5, 0.5, 100.0], 0.5, 24.875),  # one tail entry moves p75 only
    ],
)
def test_response_summary_hand_computed(ratios, median, iqr) -> None:
    s = response_summary(ratios)
    assert s.median == pytest.approx(median)
    assert s.iqr == pytest.approx(iqr)
    assert s.iqr_over_median == pytest.approx(iqr / median)
    assert s.n == len(ratios)


def test_response_summary_ignores_non_finite_and_is_nan_when_empty() -> None:
    s = response_summary([np.nan, 1.0, np.inf, 3.0])
    assert s.n == 2 and s.median == pytest.approx(2.0) and s.iqr == pytest.approx(1.0)
    empty = response_summary([])
    assert empty.n == 0 and math.isnan(empty.median) and math.isnan(empty.iqr_over_median)
    assert math.isnan(response_summary([0.0, 0.0]).iqr_over_median)  # median 0: no ratio


def test_binned_response_uses_half_open_bins() -> None:
    ratios = [1.0, 2.0, 3.0, 10.0]
    values = [10.0, 15.0, 20.0, 250.0]  # 20 belongs to [20, 40); 250 to no bin
    s = binned_response(ratios, values, [10.0, 20.0, 40.0])
    assert [b.n for b in s] == [2, 1]
    assert s[0].median == pytest.approx(1.5) and s[1].median == pytest.approx(3.0)
    assert bin_label(10, 20) == "pt10-20" and bin_label(100.0, 200.0) == "pt100-200"


def test_delta_r_wraps_phi() -> None:
    assert delta_r(0.0, np.pi - 0.05, 0.0, -np.pi + 0.05) == pytest.approx(0.1)
    assert delta_r(0.3, 0.0, 0.0, 0.4) == pytest.approx(0.5)


def test_match_by_dr_is_closest_first_and_one_to_one() -> None:
    # gen jets a0 at (0, 0), a1 at (0, 0.06); reco b0 at (0, 0.05) is closest to a1 (0.01) -> taken by a1;
    # b1 at (0, -0.03) then matches a0; b2 far away matches nothing.
    gen_i, reco_i = match_by_dr([0.0, 0.0], [0.0, 0.06], [0.0, 0.0, 2.0], [0.05, -0.03, 0.0], max_dr=0.1)
    assert sorted(zip(gen_i.tolist(), reco_i.tolist(), strict=True)) == [(0, 1), (1, 0)]
    none_a, none_b = match_by_dr([], [], [0.0], [0.0], max_dr=0.1)
    assert len(none_a) == len(none_b) == 0
    # exactly max_dr apart is not a match (ΔR < max_dr)
    assert len(match_by_dr([0.0], [0.0], [0.0], [0.25], max_dr=0.1)[0]) == 0


def test_class_rates_hand_computed() -> None:
    names = ("none", "a", "b")
    target = [0, 1, 1, 1, 2, 2, 0]
    predicted = [1, 1, 1, 0, 2, 1, 0]
    rates = class_rates(target, predicted, names)
    assert rates["eff_a"] == pytest.approx(2 / 3)  # 2 of the 3 true a
    assert rates["fake_a"] == pytest.approx(2 / 4)  # of 4 predicted a, one is none and one is b
    assert rates["eff_b"] == pytest.approx(1 / 2)
    assert rates["fake_b"] == 0.0
    assert math.isnan(class_rates([0, 0], [0, 0], names)["eff_a"])
    with pytest.raises(ValueError, match="one entry per element"):
        class_rates([0, 1], [0], names)
