"""hepreco: metrics."""

from src.metrics.classification import (
    BestFBeta,
    PRCurve,
    auprc,
    best_f_beta,
    binary_classification_metrics,
    f_beta,
    precision_at_recall,
    precision_recall_curve,
    threshold_at_recall,
)
from src.metrics.naming import fbeta_name, format_threshold, with_threshold

__all__ = [
    "BestFBeta",
    "PRCurve",
    "auprc",
    "best_f_beta",
    "binary_classification_metrics",
    "f_beta",
    "fbeta_name",
    "format_threshold",
    "precision_at_recall",
    "precision_recall_curve",
    "threshold_at_recall",
    "with_threshold",
]
