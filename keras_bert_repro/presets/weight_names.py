"""Checkpoint names: every reader hands out Google's original TF1 names and shapes.

`bert/encoder/layer_0/attention/self/query/kernel`, dense kernels stored
`[in, out]`, the pre-training heads under `cls/` (`cls/seq_relationship/output_weights`
stays `[2, hidden]`, as Google stores it). `models/weight_assignment.py` maps
these names onto the model's variables.
"""

BACKBONE_PREFIX = "bert/"
HEAD_PREFIX = "cls/"
HEADS = ("cls/predictions/", "cls/seq_relationship/")
