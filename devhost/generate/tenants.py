"""Generated tenants (departments and their APIM subscriptions) and the config YAML that claims them."""
from __future__ import annotations

import random
from dataclasses import dataclass
from itertools import accumulate

from chargeback.keys import fingerprint
from devhost.generate.workloads import PAY_AS_YOU_GO, PROVISIONED, WORKLOADS

NAMED_DEPARTMENTS = (
    ("marketing", "Marketing"), ("sales", "Sales"), ("research", "Research"), ("legal", "Legal"),
    ("hr", "HR"), ("finance", "Finance"), ("engineering", "Engineering"), ("support", "Customer Support"),
    ("operations", "Operations"), ("procurement", "Procurement"), ("security", "Security"),
    ("data-science", "Data Science"), ("design", "Design"), ("compliance", "Compliance"),
    ("communications", "Communications"), ("it", "IT"),
)
PRODUCTS = ("Azure OpenAI Standard", "Azure OpenAI Premium")
UNCLAIMED_SHARE = 0.015   # the sandbox nobody claims: its usage must land in "unallocated"

# Pay-as-you-go list prices: the rates each price entry names (DESIGN.md "Meter rates"); gpt-4o gets
# cheaper on the 16th. Units are mixed on purpose: the Retail Prices API quotes some meters per 1K tokens
# and some per 1M. whisper is priced per hour of audio (no unit), tts-hd per 1M input characters.
PRICES: dict[str, dict[str, str]] = {
    "gpt-4o": {"unit": "1M", "input": "2.50", "cached_input": "1.25", "output": "10.00"},
    "gpt-4o-mini": {"unit": "1M", "input": "0.15", "cached_input": "0.075", "output": "0.60"},
    "o3-mini": {"unit": "1M", "input": "1.10", "cached_input": "0.55", "output": "4.40"},
    "text-embedding-3-large": {"unit": "1K", "input": "0.00013", "cached_input": "0.00013", "output": "0"},
    "gpt-4o-audio": {"unit": "1M", "input": "2.50", "cached_input": "1.25", "output": "10.00",
                     "audio_input": "40.00", "cached_audio_input": "2.50", "audio_output": "80.00"},
    "gpt-image-1": {"unit": "1M", "input": "5.00", "image_input": "10.00", "cached_image_input": "2.50",
                    "image_output": "40.00"},
    "gpt-4o-transcribe": {"unit": "1M", "input": "2.50", "audio_input": "6.00", "output": "10.00"},
    "whisper": {"audio_hour": "0.36"},
    "tts-hd": {"unit": "1M", "characters": "30.00"},
}
MID_MONTH_PRICES = {"gpt-4o": {"unit": "1M", "input": "2.00", "cached_input": "1.00", "output": "8.00"}}
PTU_MONTHLY_COST = "26000.00"
ADMINS = ("finance-admin@example.com", "platform-team@example.com")


@dataclass(frozen=True, slots=True)
class Subscription:
    """An APIM subscription: its id (v2 events) and a fake raw key (v1 events carry the key itself)."""

    id: str
    name: str
    product: str
    key: str
    department: str | None   # None: claimed by no department
    workload_mix: tuple[float, ...]   # relative weights over WORKLOADS

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.key)


@dataclass(frozen=True, slots=True)
class Department:
    id: str
    name: str
    cost_center: str
    volume: float
    subscriptions: tuple[Subscription, ...]


def _department_names(count: int) -> list[tuple[str, str]]:
    named = list(NAMED_DEPARTMENTS[:count])
    return named + [(f"dept-{n:03d}", f"Department {n:03d}") for n in range(len(named) + 1, count + 1)]


def _workload_mix(rng: random.Random, modal_rng: random.Random, uses_everything: bool) -> tuple[float, ...]:
    """Relative weights over WORKLOADS. Audio, image and speech weights come from their own stream, so
    the text workloads (and every v1 month, which has only those) stay what they were before modalities."""
    weights = []
    for workload in WORKLOADS:
        draw = modal_rng if workload.modality else rng
        unused = not uses_everything and draw.random() < (0.5 if workload.modality else 0.25)
        weights.append(0.0 if unused else workload.weight * draw.lognormvariate(0, 0.8))
    return tuple(weights)


def build_departments(rng: random.Random, count: int, modal_rng: random.Random | None = None
                      ) -> tuple[list[Department], Subscription]:
    """``count`` departments with 1-3 subscriptions each, plus the one subscription no department claims."""
    departments = []
    modal_rng = modal_rng or random.Random("modalities")
    for index, (dept_id, name) in enumerate(_department_names(count)):
        mix = _workload_mix(rng, modal_rng, uses_everything=index == 0)   # someone always uses the PTU pool
        subscriptions = tuple(
            Subscription(f"sub-{dept_id}-{n:02d}", f"{name} app {n}", rng.choice(PRODUCTS),
                         f"{rng.getrandbits(128):032x}", dept_id, mix)
            for n in range(1, rng.randint(1, 3) + 1))
        departments.append(Department(dept_id, name, f"CC-{1001 + index}",
                                      rng.lognormvariate(0, 0.9), subscriptions))
    unclaimed = Subscription("sub-sandbox-01", "Sandbox (unassigned)", PRODUCTS[0],
                             f"{rng.getrandbits(128):032x}", None, _workload_mix(rng, modal_rng, True))
    return departments, unclaimed


def subscription_weights(rng: random.Random, departments: list[Department],
                         unclaimed: Subscription) -> tuple[list[Subscription], list[float]]:
    """Every subscription with cumulative call weights: a department's volume split over its subscriptions."""
    subscriptions, weights = [], []
    total = sum(d.volume for d in departments)
    for department in departments:
        shares = [rng.uniform(0.2, 1.0) for _ in department.subscriptions]
        for subscription, share in zip(department.subscriptions, shares, strict=True):
            subscriptions.append(subscription)
            weights.append((1 - UNCLAIMED_SHARE) * department.volume / total * share / sum(shares))
    subscriptions.append(unclaimed)
    weights.append(UNCLAIMED_SHARE)
    return subscriptions, list(accumulate(weights))


def _price_block(deployment: str, effective_from: str, rates: dict[str, str]) -> list[str]:
    return [f"  - deployment: {deployment}", f"    effective_from: {effective_from}",
            *(f"    {key}: {value}" for key, value in rates.items())]


def render_config(month: str, departments: list[Department], by_fingerprint: bool, header: str) -> str:
    """The DESIGN.md config YAML: departments claiming their subscriptions (ids, or key fingerprints for v1)."""
    year = month[:4]
    lines = [f"# {header}", "currency: USD", "markup_percent: 0", "departments:"]
    for d in departments:
        claims = ", ".join(f'"{s.fingerprint}"' if by_fingerprint else s.id for s in d.subscriptions)
        lines += [f"  - id: {d.id}", f"    name: {d.name}", f"    cost_center: {d.cost_center}",
                  f"    owners: [{d.id}-owner@example.com]",
                  f"    notify: {{email: [{d.id}-billing@example.com], webhook: null}}",
                  f"    subscriptions: [{claims}]"]
    lines.append("prices:")
    for deployment in PAY_AS_YOU_GO:
        lines += _price_block(deployment, f"{year}-01-01", PRICES[deployment])
        if deployment in MID_MONTH_PRICES:
            lines += _price_block(deployment, f"{month}-16", MID_MONTH_PRICES[deployment])
    lines += ["pools:", f"  - deployment: {PROVISIONED}", f"    effective_from: {year}-01-01",
              f"    monthly_cost: {PTU_MONTHLY_COST}", "    weights: {input: 1, cached_input: 0, output: 4}",
              f"admins: [{', '.join(ADMINS)}]"]
    return "\n".join(lines) + "\n"
