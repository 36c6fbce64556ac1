"""Loading a config: YAML text (or its stored dict form) -> a validated ``ChargebackConfig``."""
from __future__ import annotations

import re
from collections.abc import Hashable
from decimal import Decimal

import yaml

from chargeback.config.model import ChargebackConfig
from chargeback.config.validate import build_config
from chargeback.errors import InvalidConfig


def config_from_dict(data: dict) -> ChargebackConfig:
    """Rebuild (and re-validate) a config from ``ChargebackConfig.to_dict`` output; raises ``InvalidConfig``."""
    return build_config(data)


def parse_config(text: str) -> ChargebackConfig:
    """Validate a whole config YAML; raises ``InvalidConfig`` listing every ``path: problem``."""
    return build_config(load_yaml(text))


class YamlMapping(dict):
    """A YAML mapping that remembers keys written twice (plain YAML keeps the last one silently)."""

    duplicates: tuple = ()


class _ConfigLoader(yaml.SafeLoader):
    """Safe YAML, except: numbers keep their exact text as Decimal/int, dates stay text for the
    validator to judge (2026-02-30 must be a problem with a path, not a crash), booleans are
    only true/false (so a department called "no" stays a string)."""


def _number(loader: _ConfigLoader, node: yaml.ScalarNode) -> object:
    text = loader.construct_scalar(node).replace("_", "")
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
        key = key if isinstance(key, Hashable) else str(key)
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
_ConfigLoader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_scalar)
_ConfigLoader.add_constructor("tag:yaml.org,2002:map", _mapping)


def load_yaml(text: str) -> object:
    """The parsed config document; refuses (``InvalidConfig``) text that is not YAML or is empty."""
    try:
        doc = yaml.load(text, Loader=_ConfigLoader)   # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        said = [getattr(error, "context", None), getattr(error, "problem", None)]
        reason = " ".join(s for s in said if s) or str(error).splitlines()[0]
        raise InvalidConfig([f"file: not valid YAML{where}: {reason}"]) from None
    if doc is None:
        raise InvalidConfig(["file: is empty; expected a mapping with currency, departments, prices, pools"])
    return doc
