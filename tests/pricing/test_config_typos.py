"""Issue 17 item 3: a stack config that could be misread is refused with one line and exit 2, naming the key
(and the nearest known key), before any estimate is printed; a CI budget gate cannot pass on a typo."""

from __future__ import annotations

import pytest
from pricing_paths import HERE, PROJECT_DIR

TYPOS = HERE / "stacks" / "typos"

CASES = {
    "gpupool": "aipipe:gpuPool: unknown key; did you mean aipipe:gpuPools?",
    "systempool2": "aipipe:systemPool2: unknown key; did you mean aipipe:systemPool?",
    "pool-field": "aipipe:gpuPools[0].spto: unknown field; did you mean spot?",
    "mars": "aipipe:location: 'mars-north1-a' is in no Google Cloud region (mars-north1 is not one)",
    "bad-zone": "aipipe:location: 'us-central1-z' is not a zone of us-central1; allowed: us-central1-a, "
                "us-central1-b, us-central1-c, us-central1-f",
    "unpriced-region": "aipipe:location asia-northeast1-a: region asia-northeast1 is not in the price book",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_typo_is_one_line_and_exit_2(run_cli, name):
    code, out, err = run_cli("estimate", "--project-dir", PROJECT_DIR, "--stack", TYPOS / f"Pulumi.{name}.yaml",
                             "--budget", "5000", "--no-cache")
    assert code == 2, (out, err)
    assert out == ""  # no estimate, no 0.00 total
    assert len(err.strip().splitlines()) == 1 and CASES[name] in err, err


def test_config_unknown_keys_name_the_nearest(tmp_path):
    from stacks.config import StackConfigError, load_config

    base = {"location": "us-central1-a", "team": "t", "costCenter": "c", "masterAuthorizedNetworks": '["10.0.0.0/8"]'}
    with pytest.raises(StackConfigError, match=r"aipipe:tpuPool: unknown key; did you mean aipipe:tpuPools\?"):
        load_config({**base, "tpuPool": "[]"}, "my-ml-dev", "dev")
    with pytest.raises(StackConfigError, match=r"aipipe:zzz: unknown key; known keys: location"):
        load_config({**base, "zzz": "1"}, "my-ml-dev", "dev")
    with pytest.raises(StackConfigError, match=r"aipipe:location: 'mars-north1' is not a Google Cloud region"):
        load_config({**base, "location": "mars-north1"}, "my-ml-dev", "dev")
    assert load_config({**base, "location": "asia-northeast1-b"}, "my-ml-dev", "dev").region == "asia-northeast1"


def test_nothing_priced_is_an_error():
    from aipipe_ops.errors import ConfigError
    from aipipe_ops.pricing.estimate import Estimate
    from aipipe_ops.pricing.lines import CostLine
    from aipipe_ops.pricing.plan_checks import check_priceable
    from aipipe_ops.pricing.price_book import PriceBook

    D = __import__("decimal").Decimal
    line = CostLine(resource="pool", resource_type="gcp:container/nodePool:NodePool", urn="u", component="vCPUs",
                    kind="cpu", quantity_min=D(1), quantity_max=D(2), unit="vCPUs", per="hour",
                    unpriced_reason="no SKU for x9-standard-4")
    book = PriceBook.load()
    with pytest.raises(ConfigError, match="nothing could be priced .*no SKU for x9-standard-4"):
        check_priceable(Estimate(lines=[line], notes=[], currency="USD", price_book=""), [], book, "stack s")
    check_priceable(Estimate(lines=[], notes=[], currency="USD", price_book=""), [], book, "stack s")
