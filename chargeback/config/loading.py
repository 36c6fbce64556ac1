"""Loading a config: YAML text (or its stored dict form) -> a validated ``ChargebackConfig``."""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import yaml

from chargeback.config.model import ChargebackConfig
from chargeback.config.validate import build_config
from chargeback.errors import InvalidConfig


def config_from_dict(data: dict[str, Any]) -> ChargebackConfig:
    """Rebuild (and re-validate) a config from ``ChargebackConfig.to_dict`` output; raises ``InvalidConfig``."""
    return build_config(data)


def parse_config(text: str) -> ChargebackConfig:
    """Validate a whole config YAML; raises ``InvalidConfig`` listing every ``path: problem``."""
    return build_config(load_yaml(text))


class YamlMapping(dict[Any, Any]):
    """A YAML mapping that remembers keys written twice (plain YAML keeps the last one silently)."""

    duplicates: tuple[Any, ...] = ()


# Bounds that keep a hostile file from exhausting the machine: a real config (a thousand departments)
# is a few hundred KiB, a few levels deep. Aliases are refused outright ("billion laughs").
MAX_CONFIG_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 32
MAX_NODES = 500_000
MAX_NUMBER_DIGITS = 40   # past this a number is kept as text, and the validator names the field


class _ConfigLoader(yaml.SafeLoader):
    """Safe YAML, except: numbers keep their exact text as Decimal/int, dates stay text for the
    validator to judge (2026-02-30 must be a problem with a path, not a crash), booleans are
    only true/false (so a department called "no" stays a string). No aliases or anchors, keys are
    text, and nesting and size are bounded."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _refused(event, "anchors and aliases (&name, *name) are not allowed in a config: "
                                  "write each value out")
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise _refused(event, f"has more than {MAX_NODES:,} values")
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _refused(event, f"is nested more than {MAX_DEPTH} levels deep")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _Refused(yaml.MarkedYAMLError):
    """YAML that parses but that a config may not be (an alias, too deep, a key that is not text)."""


def _refused(event: yaml.Event | yaml.Node, problem: str) -> _Refused:
    mark: Any = event.start_mark   # the stubs type a node's and an event's marks apart
    return _Refused(None, None, problem, mark)


def _text(loader: _ConfigLoader, node: yaml.ScalarNode) -> str:
    """A scalar as written (timestamps: the validator judges dates, with the field's path)."""
    return loader.construct_scalar(node)


def _number(loader: _ConfigLoader, node: yaml.ScalarNode) -> object:
    text = loader.construct_scalar(node).replace("_", "")
    if len(text) > MAX_NUMBER_DIGITS:
        return text            # 5,000 digits: not an amount anyone meant, and int() would refuse it
    if re.fullmatch(r"[-+]?[0-9]+", text):
        return int(text, 10)   # YAML 1.2 reading: 010 is ten, not octal eight
    if re.fullmatch(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?", text):
        return Decimal(text)   # exactly as written: 0.1 stays 0.1
    return text                # .inf, .nan, 0x1F, 1:30 ...: not an amount, the validator says so


def _mapping(loader: _ConfigLoader, node: yaml.MappingNode) -> YamlMapping:
    loader.flatten_mapping(node)
    result, duplicates = YamlMapping(), []
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            raise _refused(key_node, f"keys must be text, got {type(key).__name__} {str(key)[:40]!r}")
        if key in result:
            duplicates.append(key)
        result[key] = loader.construct_object(value_node, deep=True)
    result.duplicates = tuple(duplicates)
    return result


_BOOL = "tag:yaml.org,2002:bool"
_ConfigLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _BOOL]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_ConfigLoader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_ConfigLoader.add_constructor("tag:yaml.org,2002:float", _number)
_ConfigLoader.add_constructor("tag:yaml.org,2002:int", _number)
_ConfigLoader.add_constructor("tag:yaml.org,2002:timestamp", _text)
_ConfigLoader.add_constructor("tag:yaml.org,2002:map", _mapping)


def load_yaml(text: str) -> object:
    """The parsed config document; refuses (``InvalidConfig``) text that is not YAML or is empty."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_CONFIG_BYTES:
        raise InvalidConfig([f"file: is {size:,} bytes; a config is at most {MAX_CONFIG_BYTES:,}"])
    try:
        doc = yaml.load(text, Loader=_ConfigLoader)   # noqa: S506 - a SafeLoader subclass
    except RecursionError:   # bounded above; kept so no input can end in a traceback
        raise InvalidConfig([f"file: is nested more than {MAX_DEPTH} levels deep"]) from None
    except _Refused as error:
        mark = error.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise InvalidConfig([f"file: {where}{error.problem}"]) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        said = [getattr(error, "context", None), getattr(error, "problem", None)]
        reason = " ".join(s for s in said if s) or str(error).splitlines()[0]
        raise InvalidConfig([f"file: not valid YAML{where}: {reason}"]) from None
    if doc is None:
        raise InvalidConfig(["file: is empty; expected a mapping with currency, departments, prices, pools"])
    return doc
