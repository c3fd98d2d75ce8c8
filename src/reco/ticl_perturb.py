"""PCA perturbations of tracksters (the TICL linking study's stability analysis and contrastive positives).

Each trackster's barycentre moves by Σ_k g_k sigmaPCA_k u_k with g_k ~ N(0, 1): u_1 is its principal
axis eVector0, u_2 and u_3 complete it to an orthonormal basis (the node features carry only eVector0, and
the orientation of the two transverse axes matters little for a shift within the shower's own spread).
η, φ and z_min/z_max follow the barycentre; the edge features are then recomputed on the same edges
(:func:`src.reco.ticl_graph.edge_features`), so an edge decision can flip but the graph stays the same.
"""

from __future__ import annotations

import torch
from torch import Tensor

from src.reco.ticl_graph import F


def transverse_axes(axis: Tensor) -> tuple[Tensor, Tensor]:
    """Two unit vectors [N, 3] completing the unit vectors ``axis`` [N, 3] to orthonormal bases."""
    helper = torch.zeros_like(axis)
    use_x = axis[:, 0].abs() < 0.9
    helper[use_x, 0] = 1.0
    helper[~use_x, 1] = 1.0
    u2 = torch.linalg.cross(axis, helper)
    u2 = u2 / u2.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return u2, torch.linalg.cross(axis, u2)


def perturb(
    x: Tensor, n_samples: int, *, generator: torch.Generator | None = None, scale: float = 1.0
) -> Tensor:
    """``n_samples`` perturbed copies [S, N, 29] of raw node features x [N, 29] (``scale`` × the spreads)."""
    axis = x[:, [F["eVector0_x"], F["eVector0_y"], F["eVector0_z"]]]
    axis = axis / axis.norm(dim=1, keepdim=True).clamp_min(1e-12)
    u2, u3 = transverse_axes(axis)
    basis = torch.stack([axis, u2, u3], dim=1)  # [N, 3 axes, 3 components]
    sigma = x[:, [F["sigmaPCA1"], F["sigmaPCA2"], F["sigmaPCA3"]]].clamp_min(1e-6)
    g = torch.randn((n_samples, *sigma.shape), generator=generator, dtype=x.dtype, device=x.device)
    shift = torch.einsum("snk,nkc->snc", g * sigma * scale, basis)
    out = x.expand(n_samples, *x.shape).clone()
    cols = [F["barycenter_x"], F["barycenter_y"], F["barycenter_z"]]
    out[..., cols] = out[..., cols] + shift
    out[..., F["z_min"]] += shift[..., 2]
    out[..., F["z_max"]] += shift[..., 2]
    pos = out[..., cols]
    r = torch.hypot(pos[..., 0], pos[..., 1]).clamp_min(1e-9)
    out[..., F["barycenter_eta"]] = torch.asinh(pos[..., 2] / r)
    out[..., F["barycenter_phi"]] = torch.atan2(pos[..., 1], pos[..., 0])
    return out
