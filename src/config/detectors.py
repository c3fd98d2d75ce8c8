"""Schemas of ``detector=``: the built-in simulation's calorimeters (``src.sim.calo.simulate.CaloSimulator``).

The blocks of layers (``barrel``, ``endcap``) are lists of mappings whose keys the simulation checks
itself (``src.sim.calo.geometry``: an unknown or missing key names the block and the allowed keys).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from omegaconf import MISSING


@dataclass
class CalorimeterConf:
    """A calorimeter: field, noise hits, and the blocks of layers of its barrel and endcaps."""

    _target_: str = "src.sim.calo.simulate.CaloSimulator"
    name: str = MISSING
    b_field: float = MISSING  # T
    noise_hits: bool = MISSING  # cells without signal fire on noise above threshold
    barrel: Any = MISSING  # list of blocks, or null
    endcap: Any = MISSING  # list of blocks, or null


SCHEMAS = {("detector", "clic"): CalorimeterConf, ("detector", "hgcal"): CalorimeterConf}
