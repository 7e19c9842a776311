from django.shortcuts import render

from apps.plans.selectors import pricing_page, subscription_get_for_account


def pricing(request):
    page = pricing_page()
    current = (
        subscription_get_for_account(account=request.user).plan.tier
        if request.user.is_authenticated
        else None
    )
    context = {"page": page, "rate": page.rate, "rows": page.rows, "current_tier": current}
    return render(request, "console/plans/pricing.html", context)
