"""Hypothesis profiles and text strategies shared by the fuzz properties (issue 25):
`tests/test_fuzz_text.py` (tokenizer and preprocessors) and the served signatures'
properties in `tests/test_export.py` and `tests/test_export_tasks.py`.

`make test` runs the "ci" profile (a fixed seed, 15 examples a property);
`HYPOTHESIS_PROFILE=campaign` runs `FUZZ_EXAMPLES` per property (default 2,000).
"""

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

_QUIET = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
settings.register_profile("ci", max_examples=15, derandomize=True, deadline=None,
                          suppress_health_check=_QUIET)
settings.register_profile("campaign", max_examples=int(os.environ.get("FUZZ_EXAMPLES", 2000)),
                          derandomize=False, deadline=None, suppress_health_check=_QUIET)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

HARD = ["[CLS]", "[SEP]", "[MASK]", "[PAD]", "[UNK]", "\x00", "\u200f", "\u202e", "\ufeff",
        "\u200d", "e\u0301", "\u0645\u0631\u062d\u0628\u0627", "\u05e9\u05dc\u05d5\u05dd",
        "\U0001f469\u200d\U0001f469\u200d\U0001f467", "\U0001f916", "\u0130stanbul", "\u00df",
        "\t", "\n", "\r\n", " ", "\u3000", "\u4e2d\u6587", "\ud55c\uad6d\uc5b4", "##", "\\",
        "\x7f", "\x85", "\ufffd", "A" * 300]
# Any code point but surrogates (which no UTF-8 string holds), mixed with the hard cases.
CHARS = st.characters(exclude_categories=("Cs",))
TEXT = st.lists(st.one_of(st.text(CHARS, max_size=12), st.sampled_from(HARD)),
                max_size=8).map("".join)
LONG = "The quick brown fox \u00e9\u0301 [SEP] \U0001f916 " * 3000  # about 100,000 characters
