"""A gradient-boosted decision-tree classifier as a backbone: the classical bar for per-object tasks.

scikit-learn's ``HistGradientBoostingClassifier`` is fitted once on the objects of the training events (the
task calls :meth:`GBDT.fit`; there is no gradient step), then every tree is copied into plain tensors
(split feature, threshold, children, leaf values), kept as the module's extra state. The forward pass walks
those tensors, so:

* the checkpoint holds nothing but tensors and is read with ``torch.load(weights_only=True)`` like every
  other checkpoint of the project: no pickled estimator, no code run when a checkpoint is opened (a pickle
  would need ``weights_only=False`` and trust in the file; skops would add a dependency and a second
  format inside the checkpoint);
* ``src.evaluate`` restores the fitted model through the ordinary ``load_state_dict``;
* the output equals the estimator's ``decision_function`` (log-odds; tested), on CPU or GPU alike.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from src.attention.kernel import check_periodic
from src.event_model import InputSpec

log = logging.getLogger(__name__)

#: Arrays of the fitted trees kept in the extra state (per node, all trees concatenated).
_NODE_FIELDS = ("feature", "threshold", "left", "right", "missing_left", "leaf", "value")


class GBDT(nn.Module):
    """Per-object gradient-boosted trees on the view's features and coordinates; returns the log-odds
    [N, 1] of the positive class. Context-free, like the MLP (``batch`` is ignored).

    ``fit_on_events`` tells the task that this backbone is fitted on the training events (``fit``) rather
    than trained by its optimiser. The keywords are those of ``HistGradientBoostingClassifier``;
    ``max_train_objects`` caps the objects it is fitted on (a seeded random sample beyond that).

    Args:
        inputs: what the view gives (feature and coordinate widths).
        use_coords: fit on the coordinates too (as raw columns; trees need no periodic embedding).
        max_iter, learning_rate, max_leaf_nodes, min_samples_leaf, l2_regularization, early_stopping:
            the estimator's settings (``early_stopping`` ``"auto"``, true or false).
        max_train_objects: at most this many training objects (null: all).
        random_state: seed of the estimator (its early-stopping split) and of the sample.
    """

    fit_on_events = True

    def __init__(
        self,
        inputs: InputSpec,
        *,
        use_coords: bool = True,
        max_iter: int = 100,
        learning_rate: float = 0.1,
        max_leaf_nodes: int = 31,
        min_samples_leaf: int = 20,
        l2_regularization: float = 0.0,
        early_stopping: Any = "auto",
        max_train_objects: int | None = None,
        random_state: int = 0,
    ) -> None:
        super().__init__()
        check_periodic(inputs.periodic, inputs.coords_dim)
        self.use_coords = use_coords
        self.num_features = inputs.num_features + (inputs.coords_dim if use_coords else 0)
        self.out_dim = 1
        self.settings = {
            "max_iter": max_iter,
            "learning_rate": learning_rate,
            "max_leaf_nodes": max_leaf_nodes,
            "min_samples_leaf": min_samples_leaf,
            "l2_regularization": l2_regularization,
            "early_stopping": early_stopping,
            "random_state": random_state,
        }
        self.max_train_objects = max_train_objects
        self.random_state = random_state
        self.trees: dict[str, Tensor] = {}

    @property
    def is_fitted(self) -> bool:
        """Whether the trees exist (fitted here or restored from a checkpoint)."""
        return bool(self.trees)

    def _table(self, x: Tensor, coords: Tensor) -> Tensor:
        """The columns the trees split on: features, then (optionally) coordinates; float64."""
        cols = [x, coords] if self.use_coords else [x]
        return torch.cat(cols, dim=1).double()

    def fit(self, x: Tensor, coords: Tensor, target: Tensor) -> None:
        """Fit the trees on objects x [N, F], coords [N, C] with binary targets [N] (1 = positive)."""
        from sklearn.ensemble import HistGradientBoostingClassifier

        table = self._table(x, coords).cpu().numpy()
        y = target.detach().cpu().numpy().astype(np.int64)
        if len(np.unique(y)) != 2:
            raise ValueError(
                f"model=gbdt needs both classes in the training events, got labels {np.unique(y)}"
            )
        if self.max_train_objects is not None and len(y) > self.max_train_objects:
            rows = np.random.default_rng(self.random_state).choice(
                len(y), self.max_train_objects, replace=False
            )
            table, y = table[np.sort(rows)], y[np.sort(rows)]
        clf = HistGradientBoostingClassifier(**self.settings).fit(table, y)
        log.info("Fitted %d trees on %d objects (%d columns)", clf.n_iter_, len(y), table.shape[1])
        self.trees = _tree_tensors(clf)

    def forward(self, x: Tensor, coords: Tensor, batch: Tensor) -> Tensor:
        """Log-odds [N, 1] of the positive class; ``batch`` is unused (context-free)."""
        del batch
        if not self.is_fitted:
            raise RuntimeError("model=gbdt is not fitted: the task fits it on the training events first")
        table = self._table(x, coords)
        t = {k: v.to(table.device) for k, v in self.trees.items()}
        node = t["roots"].expand(len(table), -1).clone()  # [N, T] current node of each tree
        rows = torch.arange(len(table), device=table.device)[:, None]
        while True:
            active = ~t["leaf"][node]
            if not bool(active.any()):
                break
            value = table[rows, t["feature"][node]]
            left = torch.where(torch.isnan(value), t["missing_left"][node], value <= t["threshold"][node])
            child = torch.where(left, t["left"][node], t["right"][node])
            node = torch.where(active, child, node)
        score = t["value"][node].sum(dim=1) + t["baseline"]
        return score.to(x.dtype)[:, None]

    # --- the fitted trees travel in the state dict ------------------------------------------------
    def get_extra_state(self) -> dict[str, Tensor]:
        """The fitted trees as tensors (empty before fitting)."""
        return dict(self.trees)

    def set_extra_state(self, state: dict[str, Tensor]) -> None:
        """Restore the fitted trees from a state dict."""
        self.trees = {k: v.clone() for k, v in (state or {}).items()}


def _tree_tensors(clf: Any) -> dict[str, Tensor]:
    """Every tree of a fitted binary ``HistGradientBoostingClassifier`` as concatenated node tensors
    (children indices made global) plus the root of each tree and the baseline log-odds."""
    parts: dict[str, list[np.ndarray]] = {k: [] for k in _NODE_FIELDS}
    roots, offset = [], 0
    for (predictor,) in clf._predictors:  # binary: one tree per iteration
        nodes = predictor.nodes
        roots.append(offset)
        parts["feature"].append(nodes["feature_idx"].astype(np.int64))
        parts["threshold"].append(nodes["num_threshold"].astype(np.float64))
        parts["left"].append(nodes["left"].astype(np.int64) + offset)
        parts["right"].append(nodes["right"].astype(np.int64) + offset)
        parts["missing_left"].append(nodes["missing_go_to_left"].astype(bool))
        leaf = nodes["is_leaf"].astype(bool)
        parts["leaf"].append(leaf)
        parts["value"].append(np.where(leaf, nodes["value"], 0.0).astype(np.float64))
        offset += len(nodes)
    out = {k: torch.from_numpy(np.concatenate(v)) for k, v in parts.items()}
    out["roots"] = torch.tensor(roots, dtype=torch.int64)[None, :]
    out["baseline"] = torch.tensor(float(np.ravel(clf._baseline_prediction)[0]), dtype=torch.float64)
    return out
