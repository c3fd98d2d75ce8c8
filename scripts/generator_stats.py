"""Time per event and multiplicities of the Pythia generators (conf/generator/): final-state charged and
neutral particles per event, neutrinos, visible energy, K0S/Λ and other hyperons left to the in-flight
decays, and the charged particles after those decays (all decayed, as if no detector stopped them).

    python scripts/generator_stats.py                           # ee_ttbar ee_qq ee_ww, 200 events each
    python scripts/generator_stats.py pp_minbias --events 300
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from src import config
from src.sim.decays import decay_in_flight
from src.sim.generators import DECAYED

CONF = Path(__file__).resolve().parents[1] / "conf"
NEUTRINOS = [12, 14, 16]
HYPERONS = [3222, 3112, 3322, 3312, 3334]


def _pm(values: list[float], digits: int = 1) -> str:
    """'mean ± std' of ``values``."""
    return f"{np.mean(values):.{digits}f} ± {np.std(values):.{digits}f}"


def main() -> None:
    """Generate the requested events and print one block per generator."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("generators", nargs="*", default=["ee_ttbar", "ee_qq", "ee_ww"])
    parser.add_argument("--events", type=int, default=200)
    args = parser.parse_args()
    config.register()
    for name in args.generators:
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            generator = instantiate(compose(config_name="train", overrides=[f"+generator={name}"]).generator)
        start = time.perf_counter()
        generator(0)
        init = time.perf_counter() - start
        start = time.process_time()
        events = [generator(seed) for seed in range(1, args.events + 1)]
        per_event = (time.process_time() - start) / args.events
        rng = np.random.default_rng(0)
        start = time.process_time()
        decayed = [decay_in_flight(e, rng) for e in events]
        decay_time = (time.process_time() - start) / args.events
        nu = [np.isin(np.abs(e["gen_pdg"]), NEUTRINOS) for e in events]
        charged = [int((e["gen_charge"] != 0).sum()) for e in events]
        neutral = [int(((e["gen_charge"] == 0) & ~n).sum()) for e, n in zip(events, nu, strict=True)]
        visible = [float(e["gen_energy"][~n].sum()) for e, n in zip(events, nu, strict=True)]
        v0 = [int(np.isin(np.abs(e["gen_pdg"]), [310, 3122]).sum()) for e in events]
        hyperons = [int(np.isin(np.abs(e["gen_pdg"]), HYPERONS).sum()) for e in events]
        after = [int(((e["gen_charge"] != 0) & (e["gen_status"] != DECAYED)).sum()) for e in decayed]
        n_nu = np.mean([n.sum() for n in nu])
        print(f"{name}: first event (with Pythia's initialisation) {init:.2f} s; "
              f"{1e3 * per_event:.2f} ms CPU per event, in-flight decays {1e3 * decay_time:.2f} ms "
              f"({args.events} events)")  # fmt: skip
        print(f"  final state per event: {_pm(charged)} charged, {_pm(neutral)} neutral (no neutrinos), "
              f"{n_nu:.2f} neutrinos; visible energy {_pm(visible)} GeV")  # fmt: skip
        print(f"  K0S + Λ {np.mean(v0):.2f}, Σ± Ξ Ω {np.mean(hyperons):.2f} per event; "
              f"charged after all in-flight decays {_pm(after)}")  # fmt: skip


if __name__ == "__main__":
    main()
