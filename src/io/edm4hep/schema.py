"""The declarative part of the EDM4hep reader and writer: the datatypes we read (their members and the order
of their relations), the branch-naming generations of podio files, the collection-name → subdetector table,
and iLCSoft's calorimeter-hit type code. Nothing here reads a file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from src.event_model import SUBDETECTORS


@dataclass(frozen=True)
class Datatype:
    """An EDM4hep datatype as far as we read it.

    ``signature`` names members whose presence identifies the type in a file written without class
    information (flat branches ``<coll>.<member>``); ``relations`` and ``vectors`` list the one-to-many,
    then one-to-one relations and the vector members in the order the 2021 layout numbers them
    (``Coll#N``, ``Coll_N``).
    """

    name: str
    signature: frozenset[str]
    relations: tuple[str, ...] = ()
    vectors: tuple[str, ...] = ()


def _type(name: str, signature: str, relations: str = "", vectors: str = "") -> Datatype:
    return Datatype(name, frozenset(signature.split()), tuple(relations.split()), tuple(vectors.split()))


#: The datatypes the reader knows, most specific signature first (a file's collection takes the first
#: whose signature members it has). Links (podio 1.x, EDM4hep >= 0.99) relate ``from`` → ``to``;
#: associations (earlier EDM4hep) ``rec`` → ``sim``; both carry a ``weight``.
DATATYPES: tuple[Datatype, ...] = (
    # caloEntry: this project's addition (one-to-one, written by src.io.edm4hep.writer in podio 1.x naming)
    _type("MCParticle", "PDG generatorStatus simulatorStatus", "parents daughters caloEntry"),
    _type("SimCalorimeterHit", "cellID energy contributions_begin", "contributions"),
    _type("CalorimeterHit", "cellID energy energyError time type"),
    _type("CaloHitContribution", "PDG energy time stepPosition.x", "particle"),
    _type(
        "Cluster",
        "energy iTheta hits_begin",
        "clusters hits particleIDs",
        "shapeParameters hitContributions subdetectorEnergies",
    ),
    _type(
        "Track",
        "chi2 ndf trackStates_begin",
        "trackerHits tracks",
        "subdetectorHitNumbers trackStates dxQuantities",
    ),
    _type("RecDqdx", "dQdx.value", "track"),
    _type("EventHeader", "eventNumber"),
    _type("Link", "weight", "from to"),
)
DATATYPE = {t.name: t for t in DATATYPES}
#: Relation names of a link or association: (points from, points to).
LINK_ENDS: tuple[tuple[str, str], ...] = (("from", "to"), ("rec", "sim"))
#: Class names of link/association types in files with class information (``vector<edm4hep::XData>``).
LINK_CLASS = re.compile(r"(Link|Association)$")


@dataclass(frozen=True)
class Layout:
    """A generation of podio's branch naming: how relation and vector-member branches of a collection are
    named, and where the collection ids live."""

    name: str
    relation: str  # format with coll=, index=, name=
    vector: str
    id_tree: str
    id_names: str
    id_values: str


LAYOUTS: dict[str, Layout] = {
    # podio < 0.16 (the 2021 EDM4hep files): relations Coll#N, vector members Coll_N, ids in tree metadata
    "edm4hep_2021": Layout(
        name="edm4hep_2021",
        relation="{coll}#{index}",
        vector="{coll}_{index}",
        id_tree="metadata",
        id_names="CollectionIDs/m_names",
        id_values="CollectionIDs/m_collectionIDs",
    ),
    # podio 1.x: relations _Coll_<relation>, vector members _Coll_<member>, ids (hashes of the names) in
    # podio_metadata; a file without that tree (written by src.io.edm4hep.writer) uses the same hashes
    "podio_1": Layout(
        name="podio_1",
        relation="_{coll}_{name}",
        vector="_{coll}_{name}",
        id_tree="podio_metadata",
        id_names="events___idTable/m_names",
        id_values="events___idTable/m_collectionIDs",
    ),
}


def relation_branch(layout: Layout, coll: str, datatype: Datatype, relation: str) -> str:
    """Branch prefix of relation ``relation`` of collection ``coll`` (add ``.index``/``.collectionID``)."""
    return layout.relation.format(coll=coll, index=datatype.relations.index(relation), name=relation)


def vector_branch(layout: Layout, coll: str, datatype: Datatype, member: str) -> str:
    """Branch of vector member ``member`` of collection ``coll``."""
    return layout.vector.format(coll=coll, index=datatype.vectors.index(member), name=member)


#: Collection name → subdetector (``src.event_model.SUBDETECTORS``), first match wins (case-insensitive
#: search); names matching none are ``other``. Covers DD4hep (ECalBarrelCollection), CLIC/iLCSoft
#: (EB_CaloHits_EDM4hep, ECALEndcap, HCALBarrel), HGCAL and this project's writer's names.
SUBDETECTOR_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        ("hgcal_ce_h_scint", r"(hgc|ce_?h).*scint"),
        ("hgcal_ce_h_si", r"hgcal.*ce_?h|^ce_?h"),
        ("hgcal_ce_e", r"hgcal|^ce_?e"),
        ("ecal_barrel", r"ecal.*barrel|^eb(_|$)"),
        ("ecal_endcap", r"ecal.*(endcap|plug|ring)|^ee(_|$)"),
        ("hcal_barrel", r"hcal.*barrel|^hb(_|$)"),
        ("hcal_endcap", r"hcal.*(endcap|plug|ring)|^he(_|$)"),
    )
)


def subdetector_of(collection: str) -> int:
    """``SUBDETECTORS`` index of a calorimeter-hit collection, from its name."""
    for name, pattern in SUBDETECTOR_PATTERNS:
        if pattern.search(collection):
            return SUBDETECTORS.index(name)
    return SUBDETECTORS.index("other")


#: Names the writer gives the hit collection of each subdetector (read back by SUBDETECTOR_PATTERNS).
HIT_COLLECTIONS: dict[str, str] = {
    "ecal_barrel": "ECalBarrelHits",
    "ecal_endcap": "ECalEndcapHits",
    "hcal_barrel": "HCalBarrelHits",
    "hcal_endcap": "HCalEndcapHits",
    "hgcal_ce_e": "HGCalCEEHits",
    "hgcal_ce_h_si": "HGCalCEHSiHits",
    "hgcal_ce_h_scint": "HGCalCEHScintHits",
    "other": "OtherCaloHits",
}
assert set(HIT_COLLECTIONS) == set(SUBDETECTORS)
assert all(SUBDETECTORS[subdetector_of(c)] == s for s, c in HIT_COLLECTIONS.items())

#: iLCSoft's CalorimeterHit ``type`` (UTIL::CalorimeterHitType): caloType + 10 caloID + 1000 layout +
#: 10000 layer, with layers counted from 0. Per subdetector: (caloType em 0 / had 1, caloID ecal 1 /
#: hcal 2 / unknown 0, layout barrel 1 / endcap 2 / any 0).
CHT_LAYER = 10000
CHT_CODES: dict[str, tuple[int, int, int]] = {
    "ecal_barrel": (0, 1, 1),
    "ecal_endcap": (0, 1, 2),
    "hcal_barrel": (1, 2, 1),
    "hcal_endcap": (1, 2, 2),
    "hgcal_ce_e": (0, 1, 2),
    "hgcal_ce_h_si": (1, 2, 2),
    "hgcal_ce_h_scint": (1, 2, 2),
    "other": (1, 0, 0),
}
#: DD4hep's calorimeter drivers number layers from 1 (the ODD file: the innermost ECal barrel layer is 1);
#: hit_layer counts from 0.
DD4HEP_FIRST_LAYER = 1

#: Candidate names of the generator-particle collection and of the reconstruction's clusters, in order
#: of preference, when a file holds several collections of the type.
PARTICLE_PREFERENCE = (re.compile(r"^MCParticles?$"), re.compile(r"MCParticle", re.IGNORECASE))
CLUSTER_PREFERENCE = (re.compile(r"Pandora", re.IGNORECASE), re.compile(r"PFO|PF", re.IGNORECASE))

#: EDM4hep TrackState locations.
AT_IP, AT_FIRST_HIT, AT_CALORIMETER = 1, 2, 4
#: MCParticle.simulatorStatus bit: created by the simulation.
SIM_CREATED_BIT = 30


def podio_hash(name: str) -> int:
    """podio 1.x collection id: the 32-bit MurmurHash3 (seed 0) of the collection name."""
    data = name.encode()
    c1, c2, mask = 0xCC9E2D51, 0x1B873593, 0xFFFFFFFF
    h = 0
    tail_start = len(data) - len(data) % 4
    for i in range(0, tail_start, 4):
        k = (int.from_bytes(data[i : i + 4], "little") * c1) & mask
        k = (((k << 15) | (k >> 17)) * c2) & mask
        h ^= k
        h = (((h << 13) | (h >> 19)) * 5 + 0xE6546B64) & mask
    tail = data[tail_start:]
    if tail:
        k = (int.from_bytes(tail, "little") * c1) & mask
        h ^= (((k << 15) | (k >> 17)) * c2) & mask
    h ^= len(data)
    h = ((h ^ (h >> 16)) * 0x85EBCA6B) & mask
    h = ((h ^ (h >> 13)) * 0xC2B2AE35) & mask
    return h ^ (h >> 16)
