"""The linking view: a TICL event (``lc_*``, ``trackster_*``, ``sim_*``) as the trackster graph of the linking
task (CMS TICL trackster linking).

``x`` [T, 29] holds the node features of :data:`src.event_model.TRACKSTER_FEATURE_NAMES` (not normalised:
the task fits the scaling on training events and keeps it in the checkpoint), ``coords`` [T, 2] the
barycentres' (η, φ), ``edge_index`` [2, E] the candidate links (inner, outer) and ``edge_attr`` [E, 7] their
features (:mod:`src.reco.ticl_graph`). Truth for the loss and the metrics: ``y`` [E] (1: both ends belong
to the same simulated particle), ``edge_category`` [E] (0 signal–signal, 1 pileup–pileup, 2 signal–pileup),
``edge_weight`` [E] (the larger raw energy of the ends, GeV); per trackster ``node_particle`` (associated
particle, −1: none) and ``node_pileup``; the association as pairs ``pair_node``/``pair_sim``/
``pair_shared`` (shared energy, GeV) and per particle ``sim_pileup``, ``sim_pdg``, ``sim_charge``,
``sim_energy`` (generated, GeV) for the supercluster energies and the fragmentation statistics.
"""

from __future__ import annotations

import numpy as np
import torch
from torch_geometric.data import Data

from src.data.cache import Event
from src.event_model import LINK_FEATURE_NAMES, TRACKSTER_FEATURE_NAMES, InputSpec
from src.reco.ticl_graph import F, candidate_edges, edge_features, edge_truth, trackster_features
from src.reco.ticl_truth import best_association

_REQUIRED = ("trackster_raw_energy", "trackster_lc_ptr", "trackster_sim_ptr", "sim_interaction")


class LinkingView:
    """TICL events as trackster graphs with the TICL candidate links.

    Args:
        max_score: a trackster is associated to its most-sharing particle when that particle's score is
            below this (the study: 0.2).
        delta: half-width in η and φ of the candidate-link search (TICL: 0.1).
    """

    def __init__(self, *, max_score: float = 0.2, delta: float = 0.1) -> None:
        if not 0.0 < max_score <= 1.0 or delta <= 0:
            raise ValueError(f"task.view needs 0 < max_score <= 1 and delta > 0, got {max_score}, {delta}")
        self.max_score, self.delta = max_score, delta
        self.inputs = InputSpec(
            feature_names=TRACKSTER_FEATURE_NAMES,
            coords=("barycenter_eta", "barycenter_phi"),
            periodic=(False, True),
            edge_features=len(LINK_FEATURE_NAMES),
        )

    def __call__(self, event: Event) -> Data:
        missing = [k for k in _REQUIRED if k not in event]
        if missing:
            raise KeyError(
                f"the linking view needs TICL events (dataset=ticl_sim or dataset=ticl_ntuple); this event "
                f"lacks {missing} (it has {sorted(event)[:6]}...)"
            )
        ticl = {k: v.numpy() if isinstance(v, torch.Tensor) else np.asarray(v) for k, v in event.items()}
        x = trackster_features(ticl)
        edges = candidate_edges(
            x[:, F["barycenter_eta"]], x[:, F["barycenter_phi"]], x[:, F["barycenter_z"]], delta=self.delta
        )
        ptr, sim, score, shared = (
            ticl[f"trackster_sim_{k}"] for k in ("ptr", "index", "score", "shared_energy")
        )
        best, particle = best_association(ptr, sim, score, shared, max_score=self.max_score)
        sim_pileup = ticl["sim_interaction"] != 0
        node_pileup = np.where(best >= 0, sim_pileup[np.maximum(best, 0)], True)
        true, category = edge_truth(particle, node_pileup, edges)
        energy = x[:, F["raw_energy"]]
        x_t, edge_index = torch.from_numpy(x), torch.from_numpy(edges)
        return Data(
            x=x_t,
            coords=x_t[:, [F["barycenter_eta"], F["barycenter_phi"]]].contiguous(),
            edge_index=edge_index,
            edge_attr=edge_features(x_t.double(), edge_index).float(),
            y=torch.from_numpy(true.astype(np.float32)),
            edge_category=torch.from_numpy(category),
            edge_weight=torch.from_numpy(np.maximum(energy[edges[0]], energy[edges[1]]).astype(np.float32)),
            node_particle=torch.from_numpy(particle),
            node_pileup=torch.from_numpy(node_pileup),
            pair_node=torch.from_numpy(np.repeat(np.arange(len(x)), np.diff(ptr)).astype(np.int64)),
            pair_sim=torch.from_numpy(sim.astype(np.int64)),
            pair_shared=torch.from_numpy(shared.astype(np.float32)),
            sim_pileup=torch.from_numpy(sim_pileup),
            sim_pdg=torch.from_numpy(ticl["sim_pdg"].astype(np.int64)),
            sim_charge=torch.from_numpy(ticl["sim_charge"].astype(np.float32)),
            sim_energy=torch.from_numpy(ticl["sim_energy"].astype(np.float32)),
            num_nodes=len(x),
        )
