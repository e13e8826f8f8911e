"""The Examples sections of eifer's docstrings are run, so they cannot rot."""
import doctest
import importlib
import pkgutil

import pytest

import eifer

MODULES = sorted(m.name for m in pkgutil.walk_packages(eifer.__path__, "eifer."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} failed (see output above)"
