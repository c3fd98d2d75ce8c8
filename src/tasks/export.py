"""Export of a trained linking model for C++ inference (CMSSW: TorchScript or ONNX Runtime).

The exported module is the whole inference of one event: raw node features x [N, 29], raw edge features
[E, 7] and candidate edges [2, E] in, link probabilities [E] out; the feature scaling fitted on training
events is inside. :func:`export_linking` writes ``<name>.pt`` (TorchScript, scripted so that any N and E
work) and ``<name>.onnx`` (dynamic N and E) and checks both against the Python model with onnxruntime and
the TorchScript interpreter, to ``atol``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from src.reco.ticl_graph import F
from src.tasks.base import FeatureNormalizer
from src.tasks.linking import EdgeHead, LinkingTask

log = logging.getLogger(__name__)

#: Names of the exported model's inputs and output.
INPUTS = ("x", "edge_attr", "edge_index")
OUTPUT = "score"


class LinkingModel(nn.Module):
    """One event's inference: scaling, the edge-aware backbone, the edge head, the sigmoid."""

    def __init__(
        self,
        normalizer: FeatureNormalizer,
        edge_normalizer: FeatureNormalizer,
        backbone: nn.Module,
        head: EdgeHead,
    ) -> None:
        super().__init__()
        self.normalizer, self.edge_normalizer, self.backbone, self.head = (
            normalizer,
            edge_normalizer,
            backbone,
            head,
        )
        self.eta_column, self.phi_column = F["barycenter_eta"], F["barycenter_phi"]

    def forward(self, x: Tensor, edge_attr: Tensor, edge_index: Tensor) -> Tensor:
        """Link probabilities [E] of the candidate edges of one event."""
        xn, en = self.normalizer(x), self.edge_normalizer(edge_attr)
        coords = torch.stack([x[:, self.eta_column], x[:, self.phi_column]], dim=1)
        batch = torch.zeros(x.shape[0], dtype=torch.long, device=x.device)
        h, edge = self.backbone(xn, coords, batch, edge_index, en)
        return torch.sigmoid(self.head(h, edge, en, edge_index)[1])


def inference_model(task: LinkingTask) -> LinkingModel:
    """The inference module of a trained linking task (in eval mode, on the CPU)."""
    if not task.uses_edges or len(getattr(task.backbone, "encoders", ())):
        raise ValueError(
            "export supports model=gnn_linker (the EdgeConv GNN); backbones with attention layers "
            "(model=punet) or without edges are not exportable here"
        )
    model = LinkingModel(task.normalizer, task.edge_normalizer, task.backbone, task.head)
    return model.cpu().eval()


def export_linking(
    task: LinkingTask, out: str | Path, example: tuple[Tensor, Tensor, Tensor], *, atol: float = 1e-5
) -> dict[str, float]:
    """Write ``out.pt`` (TorchScript) and ``out.onnx`` and return the largest score difference of each
    from the Python model on ``example`` (x, edge_attr, edge_index); raises if one exceeds ``atol``."""
    import onnxruntime

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    model = inference_model(task)
    with torch.no_grad():
        reference = model(*example).numpy()
        scripted = torch.jit.script(model)
        scripted.save(str(out.with_suffix(".pt")))
        loaded = torch.jit.load(str(out.with_suffix(".pt")))
        diffs = {"torchscript": float(np.abs(loaded(*example).numpy() - reference).max(initial=0.0))}
        torch.onnx.export(
            model,
            example,
            str(out.with_suffix(".onnx")),
            input_names=list(INPUTS),
            output_names=[OUTPUT],
            dynamic_axes={
                "x": {0: "tracksters"},
                "edge_attr": {0: "edges"},
                "edge_index": {1: "edges"},
                OUTPUT: {0: "edges"},
            },
            opset_version=17,
            dynamo=False,
        )
    session = onnxruntime.InferenceSession(str(out.with_suffix(".onnx")), providers=["CPUExecutionProvider"])
    onnx_scores = session.run([OUTPUT], {k: v.numpy() for k, v in zip(INPUTS, example, strict=True)})[0]
    diffs["onnx"] = float(np.abs(onnx_scores - reference).max(initial=0.0))
    bad = {k: v for k, v in diffs.items() if not v <= atol}
    if bad:
        raise AssertionError(f"exported model differs from the Python model by {bad} (> {atol})")
    log.info("Exported %s.{pt,onnx}; max |Δscore|: %s", out, diffs)
    return diffs
