"""The estimates of the example stacks (dev, prod) and of the test-only h100 stack, line by line, against
prices computed by hand from the price book.

Each expected line is (resource, component, quantity at the minimum, at the maximum, unit price, hourly or
monthly). The unit prices are the price book's (reference/prices.md, see test_price_book.py for their
sources); the expected amounts are computed here from them: quantity x price x 730 for hourly-priced
things, quantity x price for GiB-month disks. The set of lines must match exactly: an extra line (a GPU
counted twice, say) fails.

Covered: a spot G2/L4 pool (dev), an A2/A100 pool and a multi-host TPU v5e slice kept up (prod), an A3/H100
pool with bundled Local SSD and a spot multi-host TPU v5e slice in us-east5 (h100), zonal free tier (dev, h100).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

D = Decimal
HOUR, MONTH = "hour", "month"

# Unit prices, from the price book (asserted against it in test_unit_prices_are_the_price_books).
PRICES = {
    # us-central1
    "fee": ("Kubernetes Engine", "0.10"),
    "E2 core usc1": ("E2 Instance Core running in Americas", "0.02181159"),
    "E2 ram usc1": ("E2 Instance Ram running in Americas", "0.00292353"),
    "N2 core usc1": ("N2 Instance Core running in Americas", "0.031611"),
    "N2 ram usc1": ("N2 Instance Ram running in Americas", "0.004237"),
    "G2 core usc1 spot": ("Spot Preemptible G2 Instance Core running in Iowa", "0.014049995"),
    "G2 ram usc1 spot": ("Spot Preemptible G2 Instance Ram running in Iowa", "0.001646001"),
    "L4 usc1 spot": ("Nvidia L4 GPU attached to Spot Preemptible VMs running in Iowa", "0.3148"),
    "A2 core usc1": ("A2 Instance Core running in Americas", "0.031611"),
    "A2 ram usc1": ("A2 Instance Ram running in Americas", "0.004237"),
    "A100 usc1": ("Nvidia Tesla A100 GPU running in Americas", "2.933908"),
    "v5e usc1": ("TpuV5e chip running in Americas", "1.20"),
    "balanced usc1": ("Balanced PD Capacity", "0.10"),
    # us-east5
    "N1 core use5": ("N1 Predefined Instance Core running in Columbus", "0.031611"),
    "N1 ram use5": ("N1 Predefined Instance Ram running in Columbus", "0.004237"),
    "A3 core use5": ("A3 Instance Core running in Columbus", "0.02872133"),
    "A3 ram use5": ("A3 Instance Ram running in Columbus", "0.002500445"),
    "H100 use5": ("Nvidia H100 80GB GPU running in Columbus", "11.03385"),
    "LSSD use5": ("SSD backed Local Storage in Columbus", "0.08"),
    "v5e use5 spot": ("Preemptible TpuV5e chip running in Columbus", "0.60"),
    "ssd use5": ("SSD backed PD Capacity in Columbus", "0.17"),
    "balanced use5": ("Balanced PD Capacity in Columbus", "0.10"),
}


def p(key: str) -> Decimal:
    return D(PRICES[key][1])


EXPECTED = {
    "dev": [  # zonal us-central1-a: system e2-standard-4 x 1..3, l4-spot g2-standard-8 spot x 0..2
        ("gke", "Cluster management fee (zonal)", 1, 1, p("fee"), HOUR),
        ("gke", "GKE free tier credit (one zonal cluster per billing account)", None, None, None, None),
        ("l4-spot", "Instance vCPUs (spot, g2-standard-8)", 0, 8 * 2, p("G2 core usc1 spot"), HOUR),
        ("l4-spot", "Instance memory (spot, g2-standard-8)", 0, 32 * 2, p("G2 ram usc1 spot"), HOUR),
        ("l4-spot", "GPUs (spot, NVIDIA L4)", 0, 1 * 2, p("L4 usc1 spot"), HOUR),
        ("l4-spot", "Boot disk (pd-balanced, 200 GiB)", 0, 200 * 2, p("balanced usc1"), MONTH),
        ("system", "Instance vCPUs (on-demand, e2-standard-4)", 4 * 1, 4 * 3, p("E2 core usc1"), HOUR),
        ("system", "Instance memory (on-demand, e2-standard-4)", 16 * 1, 16 * 3, p("E2 ram usc1"), HOUR),
        ("system", "Boot disk (pd-balanced, 100 GiB)", 100 * 1, 100 * 3, p("balanced usc1"), MONTH),
        # KFP 2.17.0 env/platform-agnostic: MySQL and SeaweedFS claim 20 GiB each on the default StorageClass.
        ("kfp-platform-agnostic", "Persistent volume (pd-balanced, mysql-pv-claim)", 20, 20, p("balanced usc1"), MONTH),
        ("kfp-platform-agnostic", "Persistent volume (pd-balanced, seaweedfs-pvc)", 20, 20, p("balanced usc1"), MONTH),
    ],
    "prod": [  # regional us-central1: system n2-standard-8 x 1..4, a100 a2-highgpu-1g x 0..2, v5e 2x4 = 2 VMs
        ("gke", "Cluster management fee (regional)", 1, 1, p("fee"), HOUR),
        ("a100", "Instance vCPUs (on-demand, a2-highgpu-1g)", 0, 12 * 2, p("A2 core usc1"), HOUR),
        ("a100", "Instance memory (on-demand, a2-highgpu-1g)", 0, 85 * 2, p("A2 ram usc1"), HOUR),
        ("a100", "GPUs (on-demand, NVIDIA A100 40GB)", 0, 1 * 2, p("A100 usc1"), HOUR),
        ("a100", "Boot disk (pd-balanced, 200 GiB)", 0, 200 * 2, p("balanced usc1"), MONTH),
        ("system", "Instance vCPUs (on-demand, n2-standard-8)", 8 * 1, 8 * 4, p("N2 core usc1"), HOUR),
        ("system", "Instance memory (on-demand, n2-standard-8)", 32 * 1, 32 * 4, p("N2 ram usc1"), HOUR),
        ("system", "Boot disk (pd-balanced, 100 GiB)", 100 * 1, 100 * 4, p("balanced usc1"), MONTH),
        ("v5e-2x4", "TPU chips (on-demand, v5e 2x4 slice)", 2 * 4, 2 * 4, p("v5e usc1"), HOUR),
        ("v5e-2x4", "Boot disk (pd-balanced, 200 GiB)", 200 * 2, 200 * 2, p("balanced usc1"), MONTH),
        ("kfp-platform-agnostic", "Persistent volume (pd-balanced, mysql-pv-claim)", 20, 20, p("balanced usc1"), MONTH),
        ("kfp-platform-agnostic", "Persistent volume (pd-balanced, seaweedfs-pvc)", 20, 20, p("balanced usc1"), MONTH),
    ],
    "h100": [  # zonal us-east5-a: system n1-standard-8 x 1..2 on pd-ssd, h100 a3-highgpu-8g x 0..2, v5e 4x4 spot
        ("gke", "Cluster management fee (zonal)", 1, 1, p("fee"), HOUR),
        ("gke", "GKE free tier credit (one zonal cluster per billing account)", None, None, None, None),
        ("h100", "Instance vCPUs (on-demand, a3-highgpu-8g)", 0, 208 * 2, p("A3 core use5"), HOUR),
        ("h100", "Instance memory (on-demand, a3-highgpu-8g)", 0, 1872 * 2, p("A3 ram use5"), HOUR),
        ("h100", "GPUs (on-demand, NVIDIA H100 80GB)", 0, 8 * 2, p("H100 use5"), HOUR),
        ("h100", "Local SSD (on-demand, bundled with a3-highgpu-8g)", 0, 6000 * 2, p("LSSD use5"), MONTH),
        ("h100", "Boot disk (pd-balanced, 200 GiB)", 0, 200 * 2, p("balanced use5"), MONTH),
        ("system", "Instance vCPUs (on-demand, n1-standard-8)", 8 * 1, 8 * 2, p("N1 core use5"), HOUR),
        ("system", "Instance memory (on-demand, n1-standard-8)", 30 * 1, 30 * 2, p("N1 ram use5"), HOUR),
        ("system", "Boot disk (pd-ssd, 50 GiB)", 50 * 1, 50 * 2, p("ssd use5"), MONTH),
        ("v5e-4x4", "TPU chips (spot, v5e 4x4 slice)", 0, 4 * 4, p("v5e use5 spot"), HOUR),
        ("v5e-4x4", "Boot disk (pd-balanced, 200 GiB)", 0, 200 * 4, p("balanced use5"), MONTH),
        ("kfp-platform-agnostic", "Persistent volume (pd-balanced, mysql-pv-claim)", 20, 20, p("balanced use5"), MONTH),
        ("kfp-platform-agnostic", "Persistent volume (pd-balanced, seaweedfs-pvc)", 20, 20, p("balanced use5"), MONTH),
    ],
}


def monthly(quantity, price, per) -> Decimal:
    return D(quantity) * price * (730 if per == HOUR else 1)


def hourly(quantity, price, per) -> Decimal:
    return D(quantity) * price if per == HOUR else D(quantity) * price / 730


def test_unit_prices_are_the_price_books(book):
    by_description = {price.description: price for price in book.iter_prices()}
    for key, (description, value) in PRICES.items():
        if key == "fee":
            continue
        assert by_description[description].unit_price == D(value), key


@pytest.mark.parametrize("stack", EXPECTED)
def test_lines_are_exactly_the_expected_ones(estimates, stack):
    got = [(line.resource, line.component) for line in estimates[stack].lines]
    assert got == [(resource, component) for resource, component, *_ in EXPECTED[stack]]


@pytest.mark.parametrize("stack", EXPECTED)
def test_each_line_against_prices_computed_by_hand(estimates, stack):
    lines = {(line.resource, line.component): line for line in estimates[stack].lines}
    for resource, component, low, high, price, per in EXPECTED[stack]:
        line = lines[(resource, component)]
        if price is None:
            continue  # the credit, checked below
        assert line.priced, (resource, component, line.unpriced_reason)
        assert (line.quantity_min, line.quantity_max) == (D(low), D(high)), component
        assert line.unit_price == price, component
        assert line.monthly_min == monthly(low, price, per), component
        assert line.monthly_max == monthly(high, price, per), component
        assert line.hourly_min == hourly(low, price, per), component
        assert line.hourly_max == hourly(high, price, per), component


@pytest.mark.parametrize("stack,free_tier", [("dev", True), ("h100", True), ("prod", False)])
def test_gke_free_tier_is_one_zonal_cluster_fee(estimates, stack, free_tier):
    credits = [line for line in estimates[stack].lines if line.credit]
    if not free_tier:  # prod is regional: the free tier covers only zonal and Autopilot clusters
        assert credits == []
        return
    (credit,) = credits
    # $74.40 = 744 h of the $0.10 zonal fee, capped at the 730 h month's $73.00 fee.
    assert credit.monthly_max == credit.monthly_min == D("-73.00")
    assert credit.hourly_max == D("-0.10")


# Whole-stack totals, added up by hand from the lines above (dollars per month).
TOTALS = {
    # dev max: 73 - 73 + (16 x 0.014049995 + 64 x 0.001646001 + 2 x 0.3148) x 730 + 40
    #          + (12 x 0.02181159 + 48 x 0.00292353) x 730 + 30 + 2 x 20 x 0.10 (KFP's volumes)
    "dev": (D("111.8366732"), D("1068.12312792")),
    # prod max: 73 + (24 x 0.031611 + 170 x 0.004237 + 2 x 2.933908) x 730 + 40
    #           + (32 x 0.031611 + 128 x 0.004237) x 730 + 40 + 8 x 1.20 x 730 + 40 + 2 x 20 x 0.10
    "prod": (D("7418.58456"), D("13702.48034")),
}


@pytest.mark.parametrize("stack", TOTALS)
def test_stack_totals(estimates, stack):
    totals = estimates[stack].totals
    assert (totals.monthly_min, totals.monthly_max) == TOTALS[stack]
    assert totals.unpriced == 0


def test_h100_stack_totals_add_up_the_expected_lines(estimates):
    low = sum(monthly(lo, price, per) for _, _, lo, _, price, per in EXPECTED["h100"] if price is not None)
    high = sum(monthly(hi, price, per) for _, _, _, hi, price, per in EXPECTED["h100"] if price is not None)
    credit = D("-73.00")
    assert estimates["h100"].totals.monthly_min == low + credit
    assert estimates["h100"].totals.monthly_max == high + credit


def test_an_a3_node_costs_the_published_a3_highgpu_8g_price(estimates):
    """One a3-highgpu-8g in us-east5, from the estimate's lines, is [CN]'s $99.58320/h (prices.md s3)."""
    lines = [line for line in estimates["h100"].lines if line.resource == "h100"]
    per_node = sum(line.hourly_max for line in lines if not line.component.startswith("Boot disk")) / 2
    assert abs(per_node - D("99.58320")) <= D("0.00001")


def test_gpus_of_accelerator_optimized_machines_are_counted_once(estimates, plans):
    """The a100 and l4-spot pools declare guest_accelerators too (for the driver); the GPUs are the machine's."""
    for stack, pool, gpus_per_node in (("prod", "a100", 1), ("dev", "l4-spot", 1), ("h100", "h100", 8)):
        resource = next(r for r in plans[stack].resources if r.name == pool)
        assert resource.inputs["nodeConfig"]["guestAccelerators"]
        (gpu_line,) = [line for line in estimates[stack].lines if line.resource == pool and line.kind == "gpu"]
        nodes_max = {"a100": 2, "l4-spot": 2, "h100": 2}[pool]
        assert gpu_line.quantity_max == gpus_per_node * nodes_max
        assert "bundled with" in gpu_line.note


def test_multi_host_tpu_slice_is_priced_per_chip_times_chips(estimates):
    (prod_tpu,) = [line for line in estimates["prod"].lines if line.kind == "tpu"]
    assert prod_tpu.hourly_max == 8 * D("1.20") == D("9.60")
    assert "2 VMs x 4 chips = 8 chips per slice" in prod_tpu.note
    (h100_tpu,) = [line for line in estimates["h100"].lines if line.kind == "tpu"]
    assert h100_tpu.purchase == "spot" and h100_tpu.hourly_max == 16 * D("0.60")


def test_spot_versus_on_demand(estimates):
    dev = estimates["dev"]
    comparison = dev.comparison()
    spot_line = next(line for line in dev.lines if line.component == "GPUs (spot, NVIDIA L4)")
    # The L4 pool bought on-demand instead: 2 x 0.560040239 x 730 for its GPUs, and so on.
    assert spot_line.monthly_max_as("on-demand") == 2 * D("0.560040239") * 730
    assert comparison.on_demand > dev.totals.monthly_max > comparison.spot
    prod = estimates["prod"]
    assert prod.comparison().on_demand == prod.totals.monthly_max  # prod buys everything on-demand


def test_every_planned_resource_is_accounted_for(estimates, plans):
    for stack, estimate in estimates.items():
        priced = {line.urn for line in estimate.lines}
        noted = {note.urn for note in estimate.notes}
        planned = {r.urn for r in plans[stack].resources if r.type != "pulumi:pulumi:Stack"}
        assert planned == priced | noted, stack
        assert {n.status for n in estimate.notes} <= {"free", "usage-based", "component", "unsupported"}


def test_the_prod_budget_is_read_from_the_stack(estimates):
    (budget,) = estimates["prod"].budgets
    assert (budget.amount, budget.currency) == (D("15000"), "USD")
    assert estimates["dev"].budgets == []
