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

# First the import contract (.importlinter: one-way layers, no circles), then one
# pytest run per Keras backend, the three at once (each keeps about one core
# busy), each into its own log, printed in order; fail if any fails. Tests marked
# backend_independent (pure TF Text / numpy, or subprocesses that pick their own
# backend) run once: with the first backend, except those marked spawns_recipes,
# which go to the last one, and spawns_training (pre-training runs) and spawns_serving
# (the serving load smoke run), which go to the middle one, so that the runs end at
# about the same time.
# TEST_JOBS=1 runs them one after another.
# Each pass gets its share of the cores (TEST_THREADS, at least 1) for TF's, XLA's and
# torch's thread pools: left at their defaults, three passes on two cores spin-wait
# against each other (the three backends at once on 2 cores, default -> 1 thread each:
# tests/test_classifier.py 242 s -> 190 s, tests/test_checkpoint_export.py 294 s -> 210 s).
TEST_JOBS ?= 3
TEST_THREADS ?= $(shell n=$$(nproc); t=$$((n / $(TEST_JOBS))); [ $$t -ge 1 ] && echo $$t || echo 1)
XLA_THREADS := $(if $(filter 1,$(TEST_THREADS)),--xla_cpu_multi_thread_eigen=false )intra_op_parallelism_threads=$(TEST_THREADS)
FIRST_BACKEND := $(firstword $(BACKENDS))
LAST_BACKEND := $(lastword $(BACKENDS))
# The second of three or more backends (else the last) also runs spawns_training.
MIDDLE_BACKEND := $(if $(word 3,$(BACKENDS)),$(word 2,$(BACKENDS)),$(LAST_BACKEND))
test: install
	$(VENV)/bin/lint-imports --no-cache --no-logo
	@logs=$$(mktemp -d); pids=""; \
	echo "pytest on $(BACKENDS) ($(TEST_JOBS) at a time, $(TEST_THREADS) thread(s) each); each backend's log follows when all end"; \
	for b in $(BACKENDS); do \
	  if [ $$b = $(FIRST_BACKEND) ] && [ $$b = $(LAST_BACKEND) ]; then select=""; else \
	    select="not backend_independent"; \
	    [ $$b = $(FIRST_BACKEND) ] && select="$$select or (backend_independent and not spawns_recipes and not spawns_training and not spawns_serving)"; \
	    [ $$b = $(MIDDLE_BACKEND) ] && select="$$select or spawns_training or spawns_serving"; \
	    [ $$b = $(LAST_BACKEND) ] && select="$$select or spawns_recipes"; \
	  fi; \
	  ( KERAS_BACKEND=$$b TF_NUM_INTRAOP_THREADS=$(TEST_THREADS) OMP_NUM_THREADS=$(TEST_THREADS) \
	    XLA_FLAGS="$$XLA_FLAGS $(XLA_THREADS)" $(PY) -m pytest -q --durations=12 $(PYTEST_ARGS) -m "$$select" tests \
	      > $$logs/$$b.log 2>&1; echo $$? > $$logs/$$b.rc ) & \
	  pids="$$pids $$!"; \
	  if [ $(TEST_JOBS) = 1 ]; then wait; fi; \
	done; wait $$pids; status=0; \
	for b in $(BACKENDS); do \
	  echo "=== pytest, KERAS_BACKEND=$$b (exit $$(cat $$logs/$$b.rc)) ==="; \
	  grep -v '^I0000\|^WARNING: All log messages\|^To enable the following\|^W0000' $$logs/$$b.log; \
	  [ "$$(cat $$logs/$$b.rc)" = 0 ] || status=1; \
	done; rm -rf $$logs; exit $$status

test-%: install
	KERAS_BACKEND=$* $(PY) -m pytest -q $(PYTEST_ARGS) tests

bench: install
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) build *.egg-info
