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

# Pay-as-you-go list prices (unit, input, cached input, output); gpt-4o gets cheaper on the 16th.
# Units are mixed on purpose: the Retail Prices API quotes some meters per 1K tokens and some per 1M.
PRICES = {
    "gpt-4o": ("1M", "2.50", "1.25", "10.00"),
    "gpt-4o-mini": ("1M", "0.15", "0.075", "0.60"),
    "o3-mini": ("1M", "1.10", "0.55", "4.40"),
    "text-embedding-3-large": ("1K", "0.00013", "0.00013", "0"),
}
MID_MONTH_PRICES = {"gpt-4o": ("1M", "2.00", "1.00", "8.00")}
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


def _workload_mix(rng: random.Random, uses_everything: bool) -> tuple[float, ...]:
    weights = []
    for workload in WORKLOADS:
        unused = not uses_everything and rng.random() < 0.25
        weights.append(0.0 if unused else workload.weight * rng.lognormvariate(0, 0.8))
    return tuple(weights)


def build_departments(rng: random.Random, count: int) -> tuple[list[Department], Subscription]:
    """``count`` departments with 1-3 subscriptions each, plus the one subscription no department claims."""
    departments = []
    for index, (dept_id, name) in enumerate(_department_names(count)):
        mix = _workload_mix(rng, uses_everything=index == 0)   # someone always uses the PTU pool
        subscriptions = tuple(
            Subscription(f"sub-{dept_id}-{n:02d}", f"{name} app {n}", rng.choice(PRODUCTS),
                         f"{rng.getrandbits(128):032x}", dept_id, mix)
            for n in range(1, rng.randint(1, 3) + 1))
        departments.append(Department(dept_id, name, f"CC-{1001 + index}",
                                      rng.lognormvariate(0, 0.9), subscriptions))
    unclaimed = Subscription("sub-sandbox-01", "Sandbox (unassigned)", PRODUCTS[0],
                             f"{rng.getrandbits(128):032x}", None, _workload_mix(rng, True))
    return departments, unclaimed


def subscription_weights(rng: random.Random, departments: list[Department],
                         unclaimed: Subscription) -> tuple[list[Subscription], list[float]]:
    """Every subscription with cumulative call weights: a department's volume split over its subscriptions."""
    subscriptions, weights = [], []
    total = sum(d.volume for d in departments)
    for department in departments:
        shares = [rng.uniform(0.2, 1.0) for _ in department.subscriptions]
        for subscription, share in zip(department.subscriptions, shares):
            subscriptions.append(subscription)
            weights.append((1 - UNCLAIMED_SHARE) * department.volume / total * share / sum(shares))
    subscriptions.append(unclaimed)
    weights.append(UNCLAIMED_SHARE)
    return subscriptions, list(accumulate(weights))


def _price_block(deployment: str, effective_from: str, price: tuple[str, str, str, str]) -> list[str]:
    unit, per_input, per_cached, per_output = price
    return [f"  - deployment: {deployment}", f"    effective_from: {effective_from}", f"    unit: {unit}",
            f"    input: {per_input}", f"    cached_input: {per_cached}", f"    output: {per_output}"]


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
