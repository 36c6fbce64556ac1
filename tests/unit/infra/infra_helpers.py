"""Reads infra/ Bicep through tree-sitter-bicep: declarations, their decorators and property trees."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import tree_sitter
import tree_sitter_bicep

REPO = Path(__file__).resolve().parents[3]
INFRA = REPO / "infra"
MAIN = INFRA / "main.bicep"
BICEP_FILES = sorted(INFRA.rglob("*.bicep"))

_PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_bicep.language()))
_KINDS = {
    "parameter_declaration": "param", "variable_declaration": "var", "resource_declaration": "resource",
    "module_declaration": "module", "output_declaration": "output",
}


def parse(source: bytes) -> tree_sitter.Tree:
    """The syntax tree of Bicep source."""
    return _PARSER.parse(source)


def syntax_problems(tree: tree_sitter.Tree) -> list[str]:
    """Every ERROR or MISSING node, as 'line:col type text'."""
    problems: list[str] = []

    def walk(node: tree_sitter.Node) -> None:
        if node.type == "ERROR" or node.is_missing:
            row, col = node.start_point
            kind = "MISSING" if node.is_missing else "ERROR"
            problems.append(f"{row + 1}:{col + 1} {kind} {node.text[:60]!r}")
        for child in node.children:
            walk(child)

    walk(tree.root_node)
    return problems


@dataclass
class Declaration:
    """One top-level param/var/resource/module/output of a Bicep file."""
    kind: str
    name: str
    node: tree_sitter.Node
    decorators: list[str] = field(default_factory=list)
    condition: str | None = None   # the text of `if (...)` on a resource or module
    loop: str | None = None        # the iterated expression of `[for x in ...]`

    @property
    def target(self) -> str:
        """A resource's type@version or a module's path."""
        return string_value(next(c for c in self.node.children if c.type == "string"))

    @property
    def body(self) -> tree_sitter.Node | None:
        """The object literal of a resource/module (through if/for), or the value of a var/output/param."""
        for child in self.node.children:
            if child.type == "object":
                return child
            if child.type in ("if_statement", "for_statement"):
                return next(c for c in child.children if c.type == "object")
        after_equals = False
        for child in self.node.children:
            if after_equals:
                return child
            after_equals = child.type == "="
        return None

    @property
    def resource_type(self) -> str:
        return self.target.split("@")[0]

    @property
    def has_default(self) -> bool:
        return any(c.type == "=" for c in self.node.children)

    def prop(self, *path: str) -> tree_sitter.Node | None:
        """A nested property of the body, e.g. prop('properties', 'credentials', 'name')."""
        return prop(self.body, *path)


def string_value(node: tree_sitter.Node) -> str:
    """The content of a string literal node (interpolations kept as written)."""
    return node.text.decode()[1:-1]


def prop(obj: tree_sitter.Node | None, *path: str) -> tree_sitter.Node | None:
    """The value node at a property path inside object literals, or None."""
    node = obj
    for key in path:
        if node is None or node.type != "object":
            return None
        node = properties(node).get(key)
    return node


def properties(obj: tree_sitter.Node) -> dict[str, tree_sitter.Node]:
    """An object literal's properties: key -> value node."""
    out: dict[str, tree_sitter.Node] = {}
    for child in obj.children:
        if child.type != "object_property":
            continue
        key_node = child.children[0]
        key = string_value(key_node) if key_node.type == "string" else key_node.text.decode()
        out[key] = child.children[-1]
    return out


def text(node: tree_sitter.Node | None) -> str:
    return "" if node is None else node.text.decode()


@cache
def declarations(path: Path) -> tuple[Declaration, ...]:
    """Every top-level declaration of a file, with the decorators written above it."""
    tree = parse(path.read_bytes())
    found: list[Declaration] = []
    pending: list[str] = []
    for node in tree.root_node.children:
        if node.type == "decorators":
            pending = [d.text.decode() for d in node.children if d.type == "decorator"]
            continue
        kind = _KINDS.get(node.type)
        if kind is None:
            if node.type != "comment":
                pending = []
            continue
        name = next(c for c in node.children if c.type == "identifier").text.decode()
        decl = Declaration(kind, name, node, pending)
        for child in node.children:
            if child.type == "if_statement":
                decl.condition = text(next(c for c in child.children if c.type == "parenthesized_expression"))
            if child.type == "for_statement":
                after_in = child.children.index(next(c for c in child.children if c.type == "in")) + 1
                decl.loop = text(child.children[after_in])
        found.append(decl)
        pending = []
    return tuple(found)


def find(path: Path, kind: str, name: str | None = None) -> list[Declaration]:
    return [d for d in declarations(path) if d.kind == kind and (name is None or d.name == name)]


def one(path: Path, kind: str, name: str) -> Declaration:
    matches = find(path, kind, name)
    assert len(matches) == 1, f"{path.name}: expected one {kind} {name}, found {len(matches)}"
    return matches[0]


def module_path(decl: Declaration, owner: Path) -> Path:
    """The file a module declaration refers to, resolved against the declaring file."""
    return (owner.parent / decl.target).resolve()


def calls_of(path: Path, function: str) -> list[tree_sitter.Node]:
    """Every call expression of a function anywhere in a file."""
    calls: list[tree_sitter.Node] = []

    def walk(node: tree_sitter.Node) -> None:
        if node.type == "call_expression" and node.children[0].text.decode() == function:
            calls.append(node)
        for child in node.children:
            walk(child)

    walk(parse(path.read_bytes()).root_node)
    return calls


def call_arguments(call: tree_sitter.Node) -> list[tree_sitter.Node]:
    arguments = next(c for c in call.children if c.type == "arguments")
    return [c for c in arguments.children if c.type not in ("(", ")", ",")]


_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def guids(node: tree_sitter.Node | None) -> list[str]:
    """GUID literals written in a node's text, in order."""
    return _GUID.findall(text(node))
