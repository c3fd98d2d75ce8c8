"""Asserts the GBDT backbone: its tensor forward equals scikit-learn's decision function (missing values
included), its fitted trees survive a weights-only save/load, and it refuses to predict before fitting."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from sklearn.ensemble import HistGradientBoostingClassifier

from src.event_model import InputSpec
from src.models import GBDT

SPEC = InputSpec(("a", "b", "c"), ("eta", "phi"), (False, True))


def _data(n: int = 6000, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(seed)
    table = rng.normal(size=(n, 5))
    table[rng.random(table.shape) < 0.02] = np.nan  # missing values take the learned branch
    y = (table[:, 0] + np.nan_to_num(table[:, 1]) * table[:, 3] > 0.2).astype(np.int64)
    t = torch.tensor(table, dtype=torch.float32)
    return t[:, :3], t[:, 3:], torch.tensor(y)


@pytest.mark.parametrize("use_coords", [True, False])
def test_forward_equals_the_estimators_decision_function(use_coords: bool) -> None:
    x, coords, y = _data()
    model = GBDT(SPEC, use_coords=use_coords, max_iter=30, max_leaf_nodes=15)
    model.fit(x, coords, y)
    table = (torch.cat([x, coords], 1) if use_coords else x).double().numpy()
    reference = HistGradientBoostingClassifier(**model.settings).fit(table, y.numpy())
    out = model(x.double(), coords.double(), torch.zeros(len(x), dtype=torch.long))
    assert out.shape == (len(x), 1) and model.out_dim == 1
    np.testing.assert_allclose(out[:, 0].numpy(), reference.decision_function(table), rtol=0, atol=1e-9)
    accuracy = ((out[:, 0] > 0).long() == y).float().mean()
    assert accuracy > 0.8 > max(y.float().mean(), 1 - y.float().mean())  # learned, not a constant


def test_fitted_trees_survive_a_weights_only_checkpoint() -> None:
    x, coords, y = _data(seed=1)
    model = GBDT(SPEC, max_iter=10)
    model.fit(x, coords, y)
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    restored = GBDT(SPEC, max_iter=10)
    assert not restored.is_fitted
    restored.load_state_dict(torch.load(buffer, weights_only=True))
    assert restored.is_fitted
    batch = torch.zeros(len(x), dtype=torch.long)
    assert torch.equal(restored(x, coords, batch), model(x, coords, batch))


def test_unfitted_or_one_class_is_an_error() -> None:
    x, coords, y = _data(n=100)
    with pytest.raises(RuntimeError, match="not fitted"):
        GBDT(SPEC)(x, coords, torch.zeros(len(x), dtype=torch.long))
    with pytest.raises(ValueError, match="both classes"):
        GBDT(SPEC).fit(x, coords, torch.ones_like(y))
