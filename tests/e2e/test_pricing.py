"""Browser: the pricing table's numbers survive the switch to Chinese (SPEC §2, §12)."""

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_pricing_values_are_the_same_after_switching_to_chinese(page):
    page.goto("/pricing/")
    pro = page.locator('[data-testid="plan-table"] tr[data-tier="pro"]')
    usd_value = pro.locator('[data-col="usd-value"]').inner_text().strip()
    multiplier = pro.locator('[data-col="multiplier"]').inner_text().strip()
    assert (usd_value, multiplier) == ("$54.55", "2.73x")

    page.click('[data-testid="language-zh-hans"]')
    page.wait_for_url("**/zh-hans/pricing/")

    table = page.locator('[data-testid="plan-table"]')
    assert "等价 USD 价值" in table.locator("thead").inner_text()
    assert "价值杠杆" in table.locator("thead").inner_text()
    pro = table.locator('tr[data-tier="pro"]')
    assert pro.locator('[data-col="usd-value"]').inner_text().strip() == usd_value
    assert pro.locator('[data-col="multiplier"]').inner_text().strip() == multiplier
