"""EDM4hep files in and out (uproot + awkward): key4hep files read into the project's calorimeter event
(:mod:`src.event_model`: ``gen_*``, ``hit_*`` with CSR truth, ``track_*``, ``cluster_*``, mm/GeV/ns), and
calorimeter events written so that other tools can open them (:mod:`src.io.edm4hep.writer`).

Reading is driven by tables (:mod:`src.io.edm4hep.schema`), not by special cases per file:

* **layouts** — the 2021 podio layout (relations ``Coll#N``, vector members ``Coll_N``, collection ids in
  the ``metadata`` tree; duplicate ``events`` cycles: the highest is read) and podio 1.x (``_Coll_name``,
  ids in ``podio_metadata``, or podio's hash of the name where a file has no such tree);
* **datatypes** — a collection's type from its class (``vector<edm4hep::XData>``), else from the writer's
  description, else from the members it has; links (``from``/``to``) and older associations
  (``rec``/``sim``) alike;
* **collections** — calibrated ``CalorimeterHit`` collections where the file has them, else its
  ``SimCalorimeterHit`` ones; ``hit_subdetector`` from the collection name by pattern; the MC particles
  ``MCParticles`` (else the first such collection); the clusters of Pandora (else the first); the first
  track collection; each can be named instead (``particles=``, ``clusters=``, ``hits=``).

Conventions: ``hit_time`` of a SimCalorimeterHit is its earliest contribution's (NaN without any);
``hit_layer`` (from 0) comes from a ``layer`` field of the cell-ID encoding the file stores
(``<collection>__CellIDEncoding``; DD4hep counts from 1), else from iLCSoft's CalorimeterHitType in
``CalorimeterHit.type`` (layer = type // 10000), else −1. Truth (:mod:`src.io.edm4hep.hits`): every
contribution or link is assigned to its particle's **generator-status-1 ancestor**, which is what
``gen_calo_entry`` holds (files of our writer store the simulation's own ``gen_calo_entry``). Hit energies
are what the file stores: calibrated for CalorimeterHit, the deposited (active-layer) energy for
SimCalorimeterHit.

The two sample files (``python -m src.io.edm4hep FILE`` shows them):

* ``clic_gamma_barrel_10events.root`` (2021 layout): single photons of 2.75–9.5 GeV in CLICdet; read are
  ``EB_CaloHits_EDM4hep``/``EE_CaloHits_EDM4hep`` (108–341 hits per event, all ECAL barrel, layers 0–39),
  ``MCParticlesSkimmed_EDM4hep`` (1, or 4 in event 8: the photon's conversion) and
  ``PandoraClusters_EDM4hep`` (1–2). It stores **no hit truth** — no CaloHitContribution collection
  (``EB_SimCaloHits_EDM4hep#0`` points to an absent collection) and no links —, so its hits have
  ``hit_particle = -1`` and no contributions, and its clusters ``cluster_particle = -1``; no tracks; in
  events 2, 3, 6 and 9 a Pandora cluster lists one hit of a collection the file does not store (id 12,
  where its HCAL energy comes from): left out of ``hit_cluster`` and ``cluster_n_hits``.
* ``odd_sample_10events.root`` (podio 1.2, EDM4hep 0.99): one 10 GeV π+ per event in the Open Data
  Detector, Geant4 only: ``{ECal,HCal}{Barrel,Endcap}Collection`` sim hits (292–671 per event, deposited
  energies of 0.11–0.32 GeV) with contributions, all assigned to the pion (the only generator-status-1
  particle of the 72–370 ``MCParticles``); layers from the cell-ID encodings; **no clusters, no tracks,
  no calibrated hits** (no digitisation or reconstruction was run).
"""

from src.io.edm4hep.reader import EVENT_DTYPES, EDM4hepReader, as_event, check_event, read_events
from src.io.edm4hep.rootfile import EDM4hepError, MissingCollectionError, UnreadableFileError
from src.io.edm4hep.writer import write_events

__all__ = [
    "EVENT_DTYPES",
    "EDM4hepError",
    "EDM4hepReader",
    "MissingCollectionError",
    "UnreadableFileError",
    "as_event",
    "check_event",
    "read_events",
    "write_events",
]
