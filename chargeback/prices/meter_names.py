"""Reading a Foundry Models meter name: which model, which of our meters, which deployment type.

The names are abbreviations, not model ids, and not uniform across model families, e.g.
"gpt 4o 0806 Inp glbl Tokens", "gpt 4o 0806 cached Inp glbl Tokens", "gpt 4o 0806 Outp regnl Tokens",
"GPT 5 Inpt Glbl 1M Tokens", "5.4 opt Dz 1M Tokens", "Provisioned Managed Global". A name this module
cannot read completely is ``None``: the proposal then asks instead of guessing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

GLOBAL, DATA_ZONE, REGIONAL = "Global", "Data Zone", "Regional"
_KIND = {"inp": "input", "inpt": "input", "input": "input", "outp": "output", "outpt": "output", "opt": "output",
         "output": "output"}
_TYPE = {"glbl": GLOBAL, "gl": GLOBAL, "global": GLOBAL, "dz": DATA_ZONE, "dzone": DATA_ZONE,
         "datazone": DATA_ZONE, "regnl": REGIONAL, "rgnl": REGIONAL, "regional": REGIONAL}
_CACHED = {"cached", "cchd", "cd", "cache"}
_MODALITY = {"aud": "audio", "audio": "audio", "img": "image", "image": "image", "txt": "text", "text": "text"}
_NOISE = {"tokens", "token", "1k", "1m"}
_BATCH = {"batch", "bt"}
_METER = {
    ("text", False, "input"): "input", ("text", True, "input"): "cached_input", ("text", False, "output"): "output",
    ("audio", False, "input"): "audio_input", ("audio", True, "input"): "cached_audio_input",
    ("audio", False, "output"): "audio_output", ("image", False, "input"): "image_input",
    ("image", True, "input"): "cached_image_input", ("image", False, "output"): "image_output"}
_PROVISIONED = re.compile(r"provisioned managed\s+(global|data\s*zone|regional)", re.IGNORECASE)
_VERSION = re.compile(r"\d{4}")


@dataclass(frozen=True)
class TokenMeter:
    """A per-token meter: the model as the name abbreviates it, our meter, the deployment type."""

    model: str               # lower-case words before the meter words, e.g. "gpt 4o 0806"
    meter: str               # one of DESIGN.md's meters, e.g. "cached_input"
    deployment_type: str     # GLOBAL, DATA_ZONE or REGIONAL

    @property
    def offer(self) -> str:
        """How a person picks this family of meters: ``gpt 4o 0806 / Global``."""
        return f"{self.model} / {self.deployment_type}"


def read_token_meter(name: str) -> TokenMeter | None:
    """The parts of a per-token meter name; None for batch meters and for names not read completely."""
    words = name.lower().replace("-", " ").split()
    kinds = [n for n, w in enumerate(words) if w in _KIND]
    types = [w for w in words if w in _TYPE]
    if len(kinds) != 1 or len(types) != 1 or any(w in _BATCH for w in words):
        return None
    model, modality, cached = [], "text", False
    for word in words[:kinds[0]]:
        if word in _CACHED:
            cached = True
        elif word in _MODALITY:
            modality = _MODALITY[word]
        else:
            model.append(word)
    rest = [w for w in words[kinds[0] + 1:] if w not in _TYPE and w not in _NOISE]
    meter = _METER.get((modality, cached, _KIND[words[kinds[0]]]))
    if not model or rest or meter is None:
        return None
    return TokenMeter(model=" ".join(model), meter=meter, deployment_type=_TYPE[types[0]])


def read_provisioned(name: str) -> str | None:
    """The deployment type of a provisioned-throughput (PTU) meter name, else None."""
    match = _PROVISIONED.search(name)
    if match is None:
        return None
    kind = match[1].lower().replace(" ", "")
    return {"global": GLOBAL, "datazone": DATA_ZONE, "regional": REGIONAL}[kind]


def deployment_words(deployment: str) -> list[str]:
    """A deployment name as meter-name words: ``gpt-4o-2024-08-06`` -> ``gpt 4o 0806``."""
    words = re.split(r"[-_\s]+", deployment.lower().strip())
    if len(words) >= 3 and re.fullmatch(r"20\d\d", words[-3]) and all(re.fullmatch(r"\d\d", w) for w in words[-2:]):
        words = [*words[:-3], words[-2] + words[-1]]   # a dated model version, as the meters write it
    return [w for w in words if w]


def matches_deployment(model: str, deployment: str) -> bool:
    """Whether a meter's model words are the deployment's, give or take one version (``0806``) at the end."""
    meter_words, wanted = model.split(), deployment_words(deployment)
    if meter_words == wanted:
        return True
    return len(meter_words) == len(wanted) + 1 and meter_words[:-1] == wanted and bool(
        _VERSION.fullmatch(meter_words[-1]))
