# Two commands do everything (both idempotent):
#   make demo   - create/update the virtual environment, then run `eifer demo`
#   make test   - create/update the virtual environment, then run the test suite
#   make mutate - mutation test of the result-deciding cores, printing the kill rate (MUTATE_ARGS="--stage hrv")
PYTHON ?= python3.11
VENV   ?= .venv
STAMP  := $(VENV)/.installed

.PHONY: demo test venv clean mutate
venv: $(STAMP)

# Reinstalls only when pyproject.toml changed since the last install.
$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip setuptools wheel
	$(VENV)/bin/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/eifer demo --out runs/demo

test: $(STAMP)
	EIFER_NO_PROGRESS=1 $(VENV)/bin/python -m pytest -q --durations=25

# Mutation test of the result-deciding cores (tools/mutants.py; not in CI: several minutes).
mutate: $(STAMP)
	EIFER_NO_PROGRESS=1 $(VENV)/bin/python tools/mutate.py $(MUTATE_ARGS)

clean:
	rm -rf $(VENV) runs
