"""The TrackML score (Amrouche et al., the TrackML challenge) and its per-hit truth weights.

**Weights.** Every hit of a particle gets ``order weight × pT weight``, normalised so the event sums to 1:

* the particle's hits are ranked by their distance from the particle's vertex along the beam axis,
  ``|tz − vz|`` (the challenge's own convention: it grows monotonically along a helix, loopers included);
  ties share the truncated mean rank, as in the challenge code;
* the order weight of hit ``i`` of ``n`` is the profile 10, 8, 6, 5, 3, 3, 3, 5, 6 stretched linearly over
  the ``n`` hits and normalised to sum 1 over the track. Particles with fewer than 4 hits get 0; a particle
  with more than 20 hits uses the 20-hit profile for its first 20 hits and 0 after;
* the pT weight is 0.2 from 0.05 to 0.5 GeV, rises linearly to 1 at 3 GeV and stays 1 above; below
  0.05 GeV it is 0 (the challenge's guard);
* noise hits (``particle_id == 0``) and hits of particles without known pT weigh 0.

**Score.** Each reconstructed track's majority particle is the one with most hits in it (ties: the
smaller particle id, noise included as id 0). A track counts when more than half of its hits come from
that particle and it holds more than half of that particle's hits in the event; it then adds the summed
weight of the majority particle's hits in it. The event score is that sum over the event's total weight
(1 for normalised weights), so a perfect assignment scores 1.

Both follow the behaviour of the challenge's reference library (``trackml.weights``, ``trackml.score``).
Hits left out of a submission are singleton tracks there; here a negative ``track_id`` marks such hits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

#: The challenge's order-weight profile along a track (first hit first).
ORDER_PROFILE = (10.0, 8.0, 6.0, 5.0, 3.0, 3.0, 3.0, 5.0, 6.0)
#: Particles with fewer hits weigh nothing; longer ones use the profile of this many hits.
ORDER_MIN_HITS = 4
ORDER_MAX_HITS = 20
#: pT weight: (pT, weight) nodes of the linear interpolation; 0 below the first, 1 above the last.
PT_WEIGHT_NODES = ((0.05, 0.2), (0.5, 0.2), (3.0, 1.0))
#: Particle id of noise hits (TrackML convention).
NOISE_ID = 0


def order_weight_matrix(
    profile: tuple[float, ...] = ORDER_PROFILE, min_hits: int = ORDER_MIN_HITS, max_hits: int = ORDER_MAX_HITS
) -> np.ndarray:
    """Order weights indexed ``[n_hits, i_hit]`` ([max_hits + 1, max_hits]); each row sums to 1 (0 below
    ``min_hits``): the profile stretched linearly over the track's hits."""
    out = np.zeros((max_hits + 1, max_hits))
    for n in range(min_hits, max_hits + 1):
        nodes = np.arange(len(profile)) * (n - 1) / (len(profile) - 1)
        row = np.interp(np.arange(n), nodes, profile)
        out[n, :n] = row / row.sum()
    return out


ORDER_WEIGHTS = order_weight_matrix()


def pt_weight(pt: npt.ArrayLike) -> np.ndarray:
    """pT weight of the challenge (NaN pT, i.e. no particle, weighs 0)."""
    pt = np.asarray(pt, dtype=np.float64)
    xp, fp = zip(*PT_WEIGHT_NODES, strict=True)
    return np.nan_to_num(np.interp(pt, xp, fp, left=0.0, right=fp[-1]), nan=0.0)


def order_weight(i_hit: npt.ArrayLike, n_hits: npt.ArrayLike) -> np.ndarray:
    """Order weight of hit ``i_hit`` (0-based, from the vertex) of a particle with ``n_hits`` hits."""
    i = np.asarray(i_hit, dtype=np.int64)
    n = np.minimum(np.asarray(n_hits, dtype=np.int64), ORDER_MAX_HITS)
    ok = (n >= ORDER_MIN_HITS) & (i >= 0) & (i < ORDER_MAX_HITS)
    out = np.zeros(np.broadcast(i, n).shape)
    out[ok] = ORDER_WEIGHTS[n[ok], i[ok]]
    return out


def hit_weights(
    *, particle_id: npt.ArrayLike, tz: npt.ArrayLike, vz: npt.ArrayLike, pt: npt.ArrayLike
) -> np.ndarray:
    """Per-hit TrackML weights of one event, normalised to sum 1 (all zeros if nothing weighs).

    Args:
        particle_id: particle of each hit (0 = noise).
        tz: true z of each hit (mm or cm: only the order matters).
        vz: z of the production vertex of each hit's particle.
        pt: transverse momentum (GeV) of each hit's particle; NaN where the particle is unknown.
    """
    pid = np.asarray(particle_id).reshape(-1).astype(np.int64)
    frame = pd.DataFrame(
        {
            "pid": pid,
            "d": np.abs(np.asarray(tz, dtype=np.float64).reshape(-1) - np.asarray(vz, dtype=np.float64)),
        }
    )
    n_hits = frame.groupby("pid")["d"].transform("size").to_numpy(dtype=np.int64, copy=True)
    n_hits[pid == NOISE_ID] = 0
    # the challenge ranks with pandas' default (mean rank for ties), minus 1, truncated
    i_hit = np.nan_to_num(frame.groupby("pid")["d"].rank().to_numpy() - 1.0, nan=0.0).astype(np.int64)
    w = order_weight(i_hit, n_hits) * pt_weight(np.asarray(pt, dtype=np.float64).reshape(-1))
    total = w.sum()
    return w / total if total > 0 else w


@dataclass(frozen=True)
class TrackTable:
    """One row per reconstructed track: its size, majority particle, the majority's hits in the track and
    in the event, their weight, and whether the track counts (double majority)."""

    frame: pd.DataFrame
    total_weight: float

    @property
    def score(self) -> float:
        """Summed weight of the counted tracks over the event's total weight (NaN if that is 0)."""
        if not self.total_weight > 0:
            return float("nan")
        return float(self.frame.loc[self.frame["good"], "major_weight"].sum() / self.total_weight)


def analyze_tracks(
    *, particle_id: npt.ArrayLike, weight: npt.ArrayLike, track_id: npt.ArrayLike
) -> TrackTable:
    """Majority particle and double-majority flag of every reconstructed track of one event.

    Args:
        particle_id: true particle of each hit (0 = noise; noise is one "particle" for the majority).
        weight: truth weight of each hit.
        track_id: reconstructed track of each hit; a negative id leaves the hit alone (its own track).
    """
    pid = np.asarray(particle_id).reshape(-1).astype(np.int64)
    n = len(pid)
    w = np.asarray(weight, dtype=np.float64).reshape(-1)
    tid = np.asarray(track_id).reshape(-1).astype(np.int64)
    if len(w) != n or len(tid) != n:
        raise ValueError(
            f"particle_id, weight and track_id need one entry per hit; got {n}, {len(w)}, {len(tid)}"
        )
    alone = tid < 0
    tid = tid.copy()
    tid[alone] = tid.max(initial=-1) + 1 + np.arange(int(alone.sum()))
    hits = pd.DataFrame({"track": tid, "pid": pid, "w": w})
    pairs = (
        hits.groupby(["track", "pid"], sort=False)
        .agg(hits=("w", "size"), w=("w", "sum"))
        .reset_index()
        .sort_values(["track", "hits", "pid"], ascending=[True, False, True], kind="stable")
    )
    major = pairs.drop_duplicates("track").set_index("track")
    size = hits.groupby("track").size()
    particle_hits = hits.groupby("pid").size()
    frame = pd.DataFrame(
        {
            "nhits": size.loc[major.index].to_numpy(),
            "major_particle_id": major["pid"].to_numpy(),
            "major_particle_nhits": particle_hits.loc[major["pid"]].to_numpy(),
            "major_nhits": major["hits"].to_numpy(),
            "major_weight": major["w"].to_numpy(),
        },
        index=major.index,
    )
    frame["good"] = (2 * frame["major_nhits"] > frame["nhits"]) & (
        2 * frame["major_nhits"] > frame["major_particle_nhits"]
    )
    return TrackTable(frame=frame, total_weight=float(w.sum()))


def trackml_score(*, particle_id: npt.ArrayLike, weight: npt.ArrayLike, track_id: npt.ArrayLike) -> float:
    """The TrackML score of one event (see the module docstring); NaN when the event weighs nothing."""
    if len(np.asarray(particle_id).reshape(-1)) == 0:
        return float("nan")
    return analyze_tracks(particle_id=particle_id, weight=weight, track_id=track_id).score
