# Two commands do everything (both idempotent):
#   make demo   - create/update the virtual environment, then run `eifer demo`
#   make test   - create/update the virtual environment, then run the test suite
PYTHON ?= python3.11
VENV   ?= .venv
STAMP  := $(VENV)/.installed

.PHONY: demo test venv clean
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
	EIFER_NO_PROGRESS=1 $(VENV)/bin/python -m pytest -q

clean:
	rm -rf $(VENV) runs
