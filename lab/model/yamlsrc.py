"""YAML that remembers where things were: plain Python data plus a line for every path.

Errors must name the line, so we compose the node tree with the safe loader and build the
data ourselves, recording `node.start_mark` for each mapping value and list item under its
path (a tuple of keys and indices). Duplicate keys, which PyYAML silently overwrites, are
reported instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from lab.errors import YamlPath as Path_


@dataclass
class Source:
    """Parsed YAML data with line numbers (1-based) for every path."""

    filename: str
    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)
    duplicates: list[tuple[Path_, int, int]] = field(default_factory=list)  # (path, line, first line)

    def line(self, path: Path_) -> int:
        """The line of the longest known prefix of `path` (1 if nothing matches)."""
        for n in range(len(path), -1, -1):
            if (hit := self.lines.get(tuple(path[:n]))) is not None:
                return hit
        return 1


class YamlSyntaxError(ValueError):
    def __init__(self, filename: str, line: int, problem: str) -> None:
        super().__init__(f"{filename}:{line}: YAML syntax error: {problem}")
        self.filename, self.line, self.problem = filename, line, problem


def parse(text: str, filename: str) -> Source:
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise YamlSyntaxError(filename, mark.line + 1 if mark else 1, str(exc.problem)) from exc
    finally:
        loader.dispose()
    src = Source(filename, None)
    if root is not None:
        src.data = _build(loader, root, (), src)
    return src


def _build(loader: yaml.SafeLoader, node: yaml.Node, path: Path_, src: Source) -> Any:
    src.lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for knode, vnode in node.value:
            key = loader.construct_object(knode, deep=True)
            if key in out:
                src.duplicates.append(((*path, key), knode.start_mark.line + 1, src.lines[(*path, key)]))
            out[key] = _build(loader, vnode, (*path, key), src)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, (*path, i), src) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)
