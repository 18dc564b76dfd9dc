# The two commands of the quick start: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BACKENDS ?= tensorflow jax torch
PYTEST_ARGS ?=

.PHONY: install demo test test-% bench clean

install: $(STAMP)

# Re-install only when the package's requirements change.
$(STAMP): setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

demo: install
	KERAS_BACKEND=$${KERAS_BACKEND:-jax} $(PY) recipes/quickstart.py

# One pytest run per Keras backend; fail if any fails, but run them all. Tests
# marked backend_independent (pure TF Text / numpy) run with the first backend only.
test: install
	@status=0; first=1; for b in $(BACKENDS); do \
	  echo "=== pytest, KERAS_BACKEND=$$b ==="; \
	  if [ $$first = 1 ]; then select=""; else select="not backend_independent"; fi; \
	  KERAS_BACKEND=$$b $(PY) -m pytest -q $(PYTEST_ARGS) -m "$$select" tests || status=1; \
	  first=0; \
	done; exit $$status

test-%: install
	KERAS_BACKEND=$* $(PY) -m pytest -q $(PYTEST_ARGS) tests

bench: install
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) build *.egg-info
