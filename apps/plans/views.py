from django.shortcuts import render

from apps.plans.selectors import flow_rate_current, plan_rows


def pricing(request):
    rate = flow_rate_current()
    return render(request, "plans/pricing.html", {"rate": rate, "rows": plan_rows(rate=rate)})
