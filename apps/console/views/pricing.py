from django.shortcuts import render

from apps.plans.selectors import pricing_page


def pricing(request):
    page = pricing_page()
    return render(request, "console/plans/pricing.html", {"page": page, "rate": page.rate, "rows": page.rows})
