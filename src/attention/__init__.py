"""hepreco: attention backends with the shared coordinate-augmented RBF kernel.

Every backend is an ``nn.Module`` satisfying :class:`AttentionBackend`, so that they are interchangeable
inside any backbone; the ``attention`` config group gives a factory (a Hydra ``_partial_``) that the
backbone turns into one backend per layer with :func:`build_attention`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar, Protocol, runtime_checkable

from torch import Tensor

from src.attention.full import FullAttention
from src.attention.hept import HEPTAttention
from src.attention.window import WindowAttention


@runtime_checkable
class AttentionBackend(Protocol):
    """Attention over the objects of each event, never across events.

    ``forward(q_hat [N, H, D], k_hat [N, H, D], v [N, H, Dv], coords [N, C], batch [N], *, sink=None)
    -> [N, H, Dv]`` with the RBF kernel exp(−½‖q̂ − k̂‖²) (``sink`` [H]: the log-kernel of a null key per
    head). ``uses_periodic`` says whether the backend needs the coordinates' periodicity at construction
    (``periodic=``): locality backends do, exact attention does not.
    """

    uses_periodic: ClassVar[bool]

    def __call__(
        self,
        q_hat: Tensor,
        k_hat: Tensor,
        v: Tensor,
        coords: Tensor,
        batch: Tensor,
        *,
        sink: Tensor | None = None,
    ) -> Tensor: ...


#: The backends, by the name of their ``attention=`` config.
BACKENDS: dict[str, type] = {"full": FullAttention, "hept": HEPTAttention, "window": WindowAttention}


def build_attention(factory: Callable[..., AttentionBackend], periodic: Sequence[bool]) -> AttentionBackend:
    """One backend from its factory, given the coordinates' periodicity if the backend uses it."""
    cls = getattr(factory, "func", factory)  # a functools.partial (Hydra _partial_) or the class
    if getattr(cls, "uses_periodic", None) not in (True, False):
        raise ValueError(
            f"attention backend {cls!r} does not declare uses_periodic; known backends: {sorted(BACKENDS)}"
        )
    backend = factory(periodic=list(periodic)) if cls.uses_periodic else factory()
    if not isinstance(backend, AttentionBackend):
        raise TypeError(f"{cls!r} does not satisfy the AttentionBackend protocol")
    return backend


__all__ = [
    "BACKENDS",
    "AttentionBackend",
    "FullAttention",
    "HEPTAttention",
    "WindowAttention",
    "build_attention",
]
