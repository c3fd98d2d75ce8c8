"""The line-segment (LS) view shared by simulated and real CMS LST events.

Column order and meaning follow the HEPT-CMS study's ntuple processing exactly, so a model trained on
simulated events reads real ones and back. Per LS, with A = anchor (inner) mini-doublet, E = end (outer)
mini-doublet, and each mini-doublet (MD) made of a lower hit ``0`` and an upper hit ``1``:

====  ==================  ===================================================================
col   name                meaning
====  ==================  ===================================================================
0     ``LS_phi``          LS azimuth (rad)
1     ``LS_eta``          LS pseudorapidity
2     ``LS_pt``           LS transverse-momentum estimate from its bending (GeV)
3-6   ``r, x, y, z``      centre: mean of the 4 hits A0, A1, E0, E1 (cm)
7     ``MD_dphichange``   mean of the two MDs' Δφ-change (angle of MD direction vs. position)
8-11  ``dr0..dz0``        E0 − A0 (lower hits of the two MDs)
12    ``ddphichange``     Δφ-change(E) − Δφ-change(A)
13-16 ``dr1..dz1``        E1 − A1 (upper hits of the two MDs)
17-20 ``drLS..dzLS``      ½[(A0 + E0) − (A1 + E1)]: mean (lower − upper) hit offset of the MDs
21    ``layer_anchor``    LST layer of A (1-6 barrel, 7-11 endcap disks)
22    ``layer_end``       LST layer of E
====  ==================  ===================================================================
"""

from __future__ import annotations

LS_FEATURE_NAMES: tuple[str, ...] = (
    "LS_phi", "LS_eta", "LS_pt",
    "r", "x", "y", "z", "MD_dphichange",
    "dr0", "dx0", "dy0", "dz0", "ddphichange",
    "dr1", "dx1", "dy1", "dz1",
    "drLS", "dxLS", "dyLS", "dzLS",
    "layer_anchor", "layer_end",
)  # fmt: skip
N_LS_FEATURES = len(LS_FEATURE_NAMES)
assert N_LS_FEATURES == 23

#: Truth arrays every LS event carries next to ``x`` (one entry per LS).
LS_TRUTH_FIELDS: tuple[str, ...] = ("particle_id", "sim_pt", "sim_eta", "track_length")
