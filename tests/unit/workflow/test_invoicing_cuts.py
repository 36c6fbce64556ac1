"""What each department's renderer and notifier gets: its own charges only, with the figures unchanged."""
from chargeback.workflow.invoicing import content_hash, department_charges
from tests.fixtures.invoice_inputs import HAND_POOL_SHARES, HAND_TOTALS, hand_month


def test_a_department_cut_keeps_its_lines_its_unpriced_usage_and_the_pools():
    charges, _daily, _ = hand_month()
    research = department_charges(charges, "research")
    assert [d.department for d in research.departments] == ["research"]
    assert research.departments[0].total == HAND_TOTALS["research"]["total"]
    assert research.unpriced and {u.department for u in research.unpriced} == {"research"}
    assert dict(research.pools[0].shares) == HAND_POOL_SHARES  # pool explained whole
    assert department_charges(charges, "nobody").departments == ()


def test_the_content_hash_sees_only_what_the_department_is_billed():
    charges, daily, _ = hand_month()
    cut = department_charges(charges, "marketing")
    # The same invoice from the whole month or from the cut, but a different one for other figures.
    assert content_hash(charges, "marketing", daily["marketing"]) == content_hash(cut, "marketing", daily["marketing"])
    assert content_hash(charges, "marketing", daily["marketing"]) != content_hash(charges, "marketing", [])
