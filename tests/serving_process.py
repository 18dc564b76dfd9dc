"""The start of the serving processes the export tests run: TensorFlow with the
TF Text op libraries loaded as TF Serving links them (not the `tensorflow_text`
Python package, which imports Keras), and any import of Keras refused, so the
SavedModel is shown to need neither Keras nor this library."""

PREAMBLE = r"""
import glob, importlib.util, os, sys
sys.modules["keras"] = sys.modules["tf_keras"] = None  # an import of Keras would raise
import tensorflow as tf
_ops = importlib.util.find_spec("tensorflow_text").submodule_search_locations[0]
for _library in sorted(glob.glob(os.path.join(_ops, "python", "ops", "_*.so"))):
    tf.load_op_library(_library)
"""

# The last lines of a serving process: what it imported.
POSTAMBLE = r"""
assert not [m for m in sys.modules if m.startswith("keras_bert_repro")]
assert sys.modules["keras"] is None and "tensorflow_text" not in sys.modules
"""
