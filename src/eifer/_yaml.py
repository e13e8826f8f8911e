"""The one YAML reader of eifer (config files, ``study.yaml``, ``RUN/config.yaml``; private).

PyYAML's ``safe_load`` builds no Python objects, but it still accepts three
things a hand-written settings file never needs and that turn into a
traceback or a silent surprise further on:

- a key written twice in one mapping (the last one wins without a word);
- an alias that refers to its own anchor (a recursive structure: ``RecursionError``
  in whatever walks it next);
- aliases that expand to an enormous tree ("billion laughs": 9 levels of 10
  aliases are 10^9 nodes, ``MemoryError``).

:func:`load_yaml` refuses all three with :class:`YamlError` naming the line,
and refuses files over :data:`MAX_YAML_BYTES` and trees over
:data:`MAX_YAML_NODES` nodes once aliases are expanded.
"""
from __future__ import annotations

from typing import Any

import yaml

from eifer.errors import EiferError

#: Largest YAML text read (bytes). Settings files and study.yaml are hand-written and a few KB;
#: 1 MiB leaves 100x room and stops a generated or mistaken file before it is parsed.
MAX_YAML_BYTES = 1 << 20
#: Largest number of nodes after expanding aliases. A full config (every key of every section)
#: is about 300 nodes; 100,000 is far beyond any real file and small enough to build at once.
MAX_YAML_NODES = 100_000


class YamlError(EiferError):
    """A YAML file eifer refuses; ``line`` is 1-based (None when not tied to a line)."""

    def __init__(self, source: str, message: str, line: int | None = None):
        self.source, self.message, self.line = source, message, line
        where = f"{source}, line {line}" if line is not None else source
        super().__init__(f"{where}: {message}")


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (the mapping's line is named)."""

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=deep)
                try:
                    hash(key)
                except TypeError:
                    continue  # SafeLoader reports unhashable keys itself
                if key in seen:
                    raise YamlError(self.name, f"key {key!r} appears twice (first on line {seen[key]}); keep "
                                    "one of them", key_node.start_mark.line + 1)
                seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _count_nodes(root: yaml.Node, source: str) -> int:
    """Nodes of the tree with every alias expanded; :class:`YamlError` on a cycle or past the limit."""
    sizes: dict[int, int] = {}
    open_: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_:
            raise YamlError(source, "an alias refers to the mapping or list it is part of (a recursive "
                            "structure); write the values out", node.start_mark.line + 1)
        open_.add(key)
        n = 1
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        else:
            children = []
        for child in children:
            n += size(child)
            if n > MAX_YAML_NODES:
                raise YamlError(source, f"expands to more than {MAX_YAML_NODES:,} values (aliases repeat "
                                "parts of the file); write the values out", node.start_mark.line + 1)
        open_.discard(key)
        sizes[key] = n
        return n

    return size(root)


def load_yaml(text: str, source: str) -> Any:
    """Parse YAML text safely (see the module docstring); ``source`` names the file in messages.

    Examples
    --------
    >>> load_yaml("a: 1\\nb: [x, y]\\n", "my.yaml")
    {'a': 1, 'b': ['x', 'y']}
    >>> load_yaml("a: 1\\na: 2\\n", "my.yaml")
    Traceback (most recent call last):
    ...
    eifer._yaml.YamlError: my.yaml, line 2: key 'a' appears twice (first on line 1); keep one of them
    >>> load_yaml("a: &x [1, *x]\\n", "my.yaml")
    Traceback (most recent call last):
    ...
    eifer._yaml.YamlError: my.yaml, line 1: an alias refers to the mapping or list it is part of ...
    """
    if len(text.encode("utf-8", errors="replace")) > MAX_YAML_BYTES:
        raise YamlError(source, f"larger than {MAX_YAML_BYTES // 1024} KiB; a settings file is a few KB "
                        "of hand-written YAML")
    try:
        loader = _Loader(text)  # the reader refuses control characters (NUL, ...) here already
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise YamlError(source, f"not valid YAML: {exc}", None if mark is None else mark.line + 1) from None
    loader.name = source
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _count_nodes(node, source)
        return loader.construct_document(node)
    except RecursionError:
        raise YamlError(source, "nested too deeply to read") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise YamlError(source, f"not valid YAML: {exc}", None if mark is None else mark.line + 1) from None
    finally:
        loader.dispose()
