"""Schemas of ``generator=`` (event generators, :mod:`src.sim.generators`)."""

from __future__ import annotations

from dataclasses import dataclass

from omegaconf import MISSING


@dataclass
class PythiaConf:
    """A Pythia 8 process (:class:`src.sim.generators.pythia.PythiaGenerator`)."""

    _target_: str = "src.sim.generators.pythia.PythiaGenerator"
    beams: list[int] = MISSING  # [PDG id of beam A, PDG id of beam B]
    ecm: float = MISSING
    process: list[str] = MISSING
    tau0_max: float = MISSING


@dataclass
class MinimumBiasConf(PythiaConf):
    """pp minimum bias (:func:`src.sim.generators.pythia.minimum_bias`)."""

    _target_: str = "src.sim.generators.pythia.minimum_bias"


SCHEMAS = {
    ("generator", "ee_ttbar"): PythiaConf,
    ("generator", "ee_qq"): PythiaConf,
    ("generator", "ee_ww"): PythiaConf,
    ("generator", "pp_minbias"): MinimumBiasConf,
}
