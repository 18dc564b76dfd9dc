"""GLUE's official metrics, in numpy: accuracy, F1, Matthews correlation, Pearson, Spearman."""

import numpy as np


def accuracy(labels, predictions):
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    return float(np.mean(labels == predictions)) if labels.size else 0.0


def f1(labels, predictions, positive=1):
    """F1 of the positive class (MRPC, QQP)."""
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    tp = np.sum((predictions == positive) & (labels == positive))
    fp = np.sum((predictions == positive) & (labels != positive))
    fn = np.sum((predictions != positive) & (labels == positive))
    return float(2 * tp / (2 * tp + fp + fn)) if tp else 0.0


def matthews_corrcoef(labels, predictions):
    """Binary MCC (CoLA); 0 when a row or column of the confusion matrix is empty,
    as scikit-learn defines it."""
    labels, predictions = np.asarray(labels).astype(bool), np.asarray(predictions).astype(bool)
    tp = float(np.sum(labels & predictions))
    tn = float(np.sum(~labels & ~predictions))
    fp = float(np.sum(~labels & predictions))
    fn = float(np.sum(labels & ~predictions))
    denominator = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    return float((tp * tn - fp * fn) / denominator) if denominator else 0.0


def pearson(labels, predictions):
    x, y = np.asarray(labels, float), np.asarray(predictions, float)
    x, y = x - x.mean(), y - y.mean()
    denominator = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / denominator) if denominator else 0.0


def _ranks(values):
    """Average ranks of ties, as scipy.stats.rankdata."""
    values = np.asarray(values, float)
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values))
    sorted_values = values[order]
    start = 0
    for end in range(1, len(values) + 1):
        if end == len(values) or sorted_values[end] != sorted_values[start]:
            ranks[order[start:end]] = (start + end + 1) / 2.0
            start = end
    return ranks


def spearman(labels, predictions):
    return pearson(_ranks(labels), _ranks(predictions))


def glue_metrics(task, labels, predictions):
    """The metrics GLUE reports for `task` (a GlueTask), from class ids or scores."""
    if task.labels is None:
        return {"pearson": pearson(labels, predictions),
                "spearman": spearman(labels, predictions)}
    results = {"accuracy": accuracy(labels, predictions)}
    if task.metric == "f1":
        results["f1"] = f1(labels, predictions)
    if task.metric == "matthews_corrcoef":
        results["matthews_corrcoef"] = matthews_corrcoef(labels, predictions)
    return results
