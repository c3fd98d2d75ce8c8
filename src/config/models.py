"""Schemas of ``model=`` (backbones)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from omegaconf import MISSING

from src.config.checks import checked, fraction


@dataclass
class HEPTModelConf:
    """``model=hept``: the HEPT backbone."""

    _target_: str = "src.models.hept.HEPT"
    h_dim: int = MISSING
    num_heads: int = MISSING
    head_dim: Any = MISSING  # int or null (= h_dim)
    n_layers: int = MISSING
    out_dim: int = MISSING
    dropout: float = checked(fraction())
    ffn_mult: int = MISSING
    head_hidden: int = MISSING
    head_layers: int = MISSING
    encoder_hidden: int = MISSING
    encoder_layers: int = MISSING
    link_heads: int = MISSING
    link_tolerance: float = MISSING
    sink: bool = MISSING
    attention: Any = MISSING


@dataclass
class MLPModelConf:
    """``model=mlp``: the per-object baseline."""

    _target_: str = "src.models.mlp.MLP"
    hidden_dim: int = MISSING
    n_layers: int = MISSING
    out_dim: int = MISSING
    dropout: float = checked(fraction())


@dataclass
class TransformerRegressorModelConf:
    """``model=transformer_regressor`` (Trackformers' sizes) and ``model=transformer`` (a pre-norm encoder
    with the coordinate kernel): linear embedding + transformer encoder."""

    _target_: str = "src.models.transformer_regressor.TransformerRegressor"
    d_model: int = MISSING
    num_heads: int = MISSING
    n_layers: int = MISSING
    dim_feedforward: int = MISSING
    dropout: float = checked(fraction())
    norm_first: bool = MISSING
    coord_kernel: bool = MISSING
    attention: Any = MISSING


@dataclass
class GNNLinkerModelConf:
    """``model=gnn_linker`` (EdgeConv GNN of the TICL linking study) and ``model=punet`` (with global
    attention first)."""

    _target_: str = "src.models.gnn_linker.GNNLinker"
    niters: int = MISSING
    hidden_dim: int = MISSING
    edge_hidden_dim: int = MISSING
    dropout: float = MISSING
    attention_layers: int = MISSING
    num_heads: int = MISSING
    attention: Any = MISSING  # the attention group's factory, or null without attention layers


@dataclass
class GBDTModelConf:
    """``model=gbdt``: gradient-boosted trees fitted on the training events (no gradient steps)."""

    _target_: str = "src.models.gbdt.GBDT"
    use_coords: bool = MISSING
    max_iter: int = MISSING
    learning_rate: float = MISSING
    max_leaf_nodes: int = MISSING
    min_samples_leaf: int = MISSING
    l2_regularization: float = MISSING
    early_stopping: Any = MISSING  # "auto", true or false
    max_train_objects: Any = MISSING  # int or null
    random_state: int = MISSING


@dataclass
class MLPFModelConf:
    """``model=mlpf``: per-type encoders and two pre-LN self-attention stacks (identification, regression)."""

    _target_: str = "src.models.mlpf.MLPF"
    num_heads: int = MISSING
    head_dim: int = MISSING
    n_layers: int = MISSING
    dim_feedforward: int = MISSING
    encoder_hidden: int = MISSING
    dropout: float = MISSING
    coord_kernel: bool = MISSING
    attention: Any = MISSING


SCHEMAS = {
    ("model", "gnn_linker"): GNNLinkerModelConf,
    ("model", "punet"): GNNLinkerModelConf,
    ("model", "hept"): HEPTModelConf,
    ("model", "mlp"): MLPModelConf,
    ("model", "transformer_regressor"): TransformerRegressorModelConf,
    ("model", "gbdt"): GBDTModelConf,
    ("model", "mlpf"): MLPFModelConf,
    ("model", "transformer"): TransformerRegressorModelConf,
}
