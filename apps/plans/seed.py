"""Seed data for the plan table (SPEC §2) and the model catalog (reference/subscription-en.md).

Seeding creates what is missing and never overwrites what staff have edited since.
"""

from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.plans.models import CatalogModel, FlowRate, Plan

PLANS = [
    # tier, name, rank, price, 5h, weekly, monthly, rpm
    ("free", "Free", 0, "0", "5", "50.4", "216", 10),
    ("pro", "Pro", 1, "20", "50", "504", "2160", 15),
    ("max", "Max", 2, "100", "300", "3024", "12960", 15),
    ("ultra", "Ultra", 3, "200", "800", "8064", "34560", 15),
]
# Manual 5-hour window resets per billing cycle (issue #22); tiers not named have none.
WINDOW_RESETS = {"pro": 4, "max": 3, "ultra": 2}

# Provider grouping names, by slug prefix. A prefix missing here falls back to a title-cased prefix.
PROVIDERS = {
    "anthropic": "Anthropic",
    "openai": "OpenAI",
    "google": "Google",
    "nanobanana": "Google",  # Nano Banana Pro is Google's Gemini 3 Pro Image model
    "x-ai": "xAI",
    "z-ai": "Z.AI",
    "deepseek": "DeepSeek",
    "qwen": "Qwen",
    "moonshotai": "Moonshot AI",
    "baidu": "Baidu",
    "inclusionai": "inclusionAI",
    "meta": "Meta",
    "mistralai": "Mistral AI",
    "minimax": "MiniMax",
    "kuaishou": "Kuaishou",
    "stepfun": "StepFun",
    "volcengine": "Volcengine",
    "xiaomi": "Xiaomi",
    "tencent": "Tencent",
}


def provider_for(slug: str) -> str:
    prefix = slug.split("/", 1)[0]
    return PROVIDERS.get(prefix) or prefix.replace("-", " ").title()


def _model(
    slug: str, display_name: str, tier: str, *, category: str = "text", status: str = "available"
) -> tuple[str, str, str, str, str, str]:
    return (slug, display_name, provider_for(slug), category, tier, status)


# (slug, display name, provider, category, lowest tier, status), in the order of
# reference/subscription-en.md: the Pro list (70+ models, by provider), then the Max-only models.
# A model listed under several plans gets the lowest tier that includes it: the twelve models of the
# Free list are "free" (every plan), the rest of the Pro list "pro" (Pro/Max/Ultra), and the
# ultra-flagship models "max" (Max/Ultra). Display names follow the reference's Pro list (ASCII hyphens).
CATALOG: list[tuple[str, str, str, str, str, str]] = [
    _model("anthropic/claude-opus-4.6", "Claude Opus 4.6", "pro"),
    _model("anthropic/claude-opus-4.5", "Claude Opus 4.5", "pro"),
    _model("anthropic/claude-sonnet-4.5", "Claude Sonnet 4.5", "pro"),
    _model("anthropic/claude-haiku-4.5", "Claude Haiku 4.5", "pro"),
    _model("anthropic/claude-opus-4.1", "Claude Opus 4.1", "pro"),
    _model("anthropic/claude-opus-4", "Claude Opus 4", "pro"),
    _model("anthropic/claude-3.5-sonnet", "Claude 3.5 Sonnet", "pro"),
    _model("anthropic/claude-3.5-haiku", "Claude 3.5 Haiku", "pro"),
    _model("anthropic/claude-3.7-sonnet", "Claude 3.7 Sonnet", "pro"),
    _model("anthropic/claude-sonnet-4", "Claude Sonnet 4", "pro"),
    _model("openai/gpt-5.2", "GPT-5.2", "pro"),
    _model("openai/gpt-5.2-chat", "GPT-5.2 Chat", "pro"),
    _model("openai/gpt-5.2-codex", "GPT-5.2 Codex", "pro"),
    _model("openai/gpt-5", "GPT-5", "pro"),
    _model("openai/gpt-5-chat", "GPT-5 Chat", "pro"),
    _model("openai/gpt-5-codex", "GPT-5 Codex", "pro"),
    _model("openai/gpt-5-mini", "GPT-5 Mini", "pro"),
    _model("openai/gpt-5-nano", "GPT-5 Nano", "pro"),
    _model("openai/gpt-5.1", "GPT-5.1", "pro"),
    _model("openai/gpt-5.1-chat", "GPT-5.1 Chat", "pro"),
    _model("openai/gpt-5.1-codex", "GPT-5.1 Codex", "pro"),
    _model("openai/gpt-5.1-codex-mini", "GPT-5.1 Codex Mini", "pro"),
    _model("openai/gpt-4.1", "GPT-4.1", "pro"),
    _model("openai/gpt-4.1-mini", "GPT-4.1 Mini", "pro"),
    _model("openai/gpt-4.1-nano", "GPT-4.1 Nano", "pro"),
    _model("openai/gpt-4o", "GPT-4o", "pro"),
    _model("openai/gpt-4o-mini", "GPT-4o Mini", "pro"),
    _model("openai/o4-mini", "o4-mini", "pro"),
    _model("google/gemini-2.0-flash", "Gemini 2.0 Flash", "pro"),
    _model("google/gemini-2.0-flash-lite-001", "Gemini 2.0 Flash Lite", "pro"),
    _model("google/gemini-2.5-flash", "Gemini 2.5 Flash", "pro"),
    _model("google/gemini-2.5-flash-lite", "Gemini 2.5 Flash Lite", "pro"),
    _model("google/gemini-2.5-flash-image", "Gemini 2.5 Flash Image", "pro", category="image"),
    _model("google/gemini-2.5-pro", "Gemini 2.5 Pro", "pro"),
    _model("google/gemini-3-flash-preview", "Gemini 3 Flash Preview", "pro"),
    _model("google/gemini-3-pro-preview", "Gemini 3 Pro Preview", "pro"),
    _model("google/gemini-3-pro-image-preview", "Gemini 3 Pro Image Preview", "pro", category="image"),
    _model("google/gemma-3-12b-it", "Gemma 3 12B IT", "pro"),
    _model("x-ai/grok-4", "Grok 4", "pro"),
    _model("x-ai/grok-4-fast", "Grok 4 Fast", "pro"),
    _model("x-ai/grok-4-fast-non-reasoning", "Grok 4 Fast Non-Reasoning", "pro"),
    _model("x-ai/grok-4.1-fast", "Grok 4.1 Fast", "pro"),
    _model("x-ai/grok-4.1-fast-non-reasoning", "Grok 4.1 Fast Non-Reasoning", "pro"),
    _model("x-ai/grok-code-fast-1", "Grok Code Fast 1", "pro"),
    _model("z-ai/glm-4.6v", "GLM 4.6V", "pro"),
    _model("z-ai/glm-4.6v-flash", "GLM 4.6V Flash", "free"),
    _model("z-ai/glm-4.7", "GLM 4.7", "free"),
    _model("z-ai/glm-4.5", "GLM 4.5", "pro"),
    _model("z-ai/glm-4.5-air", "GLM 4.5 Air", "pro"),
    _model("z-ai/glm-4.6", "GLM 4.6", "pro"),
    _model("deepseek/deepseek-chat", "DeepSeek Chat", "free"),
    _model("deepseek/deepseek-chat-v3.1", "DeepSeek Chat V3.1", "pro"),
    _model("deepseek/deepseek-v3.2", "DeepSeek V3.2", "pro"),
    _model("deepseek/deepseek-v3.2-exp", "DeepSeek V3.2 Exp", "pro"),
    _model("deepseek/deepseek-r1-0528", "DeepSeek R1 0528", "pro"),
    _model("deepseek/deepseek-reasoner", "DeepSeek Reasoner", "free"),
    _model("qwen/qwen3-coder", "Qwen3 Coder", "pro"),
    _model("qwen/qwen3-coder-plus", "Qwen3 Coder Plus", "pro"),
    _model("qwen/qwen3-max", "Qwen3 Max", "pro"),
    _model("qwen/qwen3-max-preview", "Qwen3 Max Preview", "pro"),
    _model("qwen/qwen3-vl-plus", "Qwen3 VL Plus", "pro"),
    _model("qwen/qwen3-14b", "Qwen3 14B", "pro"),
    _model("qwen/qwen3-235b-a22b-2507", "Qwen3 235B A22B 2507", "pro"),
    _model("qwen/qwen3-235b-a22b-thinking-2507", "Qwen3 235B A22B Thinking 2507", "pro"),
    _model("moonshotai/kimi-k2.5", "Kimi K2.5", "pro"),
    _model("moonshotai/kimi-k2-thinking", "Kimi K2 Thinking", "pro"),
    _model("moonshotai/kimi-k2-thinking-turbo", "Kimi K2 Thinking Turbo", "pro"),
    _model("moonshotai/kimi-k2-0711", "Kimi K2 0711", "pro"),
    _model("moonshotai/kimi-k2-0905", "Kimi K2 0905", "pro"),
    _model("baidu/ernie-5.0-thinking-preview", "ERNIE 5.0 Thinking Preview", "pro"),
    _model("baidu/ernie-x1.1-preview", "ERNIE X1.1 Preview", "pro"),
    _model("inclusionai/ling-1t", "Ling-1T", "free"),
    _model("inclusionai/ling-flash-2.0", "Ling Flash 2.0", "pro"),
    _model("inclusionai/ling-mini-2.0", "Ling Mini 2.0", "free"),
    _model("inclusionai/llada2.0-flash-cap", "LLADA 2.0 Flash Cap", "pro"),
    _model("inclusionai/ming-flash-omni-preview", "Ming Flash Omni Preview", "pro"),
    _model("inclusionai/ring-1t", "Ring-1T", "free"),
    _model("inclusionai/ring-flash-2.0", "Ring Flash 2.0", "pro"),
    _model("inclusionai/ring-mini-2.0", "Ring Mini 2.0", "free"),
    _model("meta/llama-3.3-70b-instruct", "Llama 3.3 70B Instruct", "pro"),
    _model("meta/llama-4-scout-17b-16e-instruct", "Llama 4 Scout 17B 16E Instruct", "pro"),
    _model("mistralai/mistral-large-2512", "Mistral Large 2512", "pro"),
    _model("minimax/minimax-m2-her", "MiniMax M2 her", "pro"),
    _model("minimax/minimax-m2.1", "MiniMax M2.1", "free"),
    _model("minimax/minimax-m2", "MiniMax M2", "pro"),
    _model("kuaishou/kat-coder-pro-v1", "KAT-Coder-Pro-V1", "pro"),
    _model("stepfun/step-3", "Step 3", "free"),
    _model("volcengine/doubao-seed-1-6-vision", "Doubao Seed 1.6 Vision", "pro"),
    _model("volcengine/doubao-seed-1.8", "Doubao Seed 1.8", "free"),
    _model("volcengine/doubao-seed-code", "Doubao Seed Code", "pro"),
    _model("xiaomi/mimo-v2-flash", "MiMo V2 Flash", "free"),
    _model("nanobanana/nanobanana-pro", "NanoBananaPro", "pro", category="image"),
    _model("openai/gpt-image-1.5", "GPT-Image-1.5", "pro", category="image", status="coming_soon"),
    _model("tencent/hunyuan-image3", "Hunyuan-Image3", "pro", category="image", status="coming_soon"),
    _model("openai/gpt-5.2-pro", "GPT-5.2 Pro", "max"),
    _model("openai/gpt-5-pro", "GPT-5 Pro", "max"),
]

# Optional public list prices (USD per 1M input tokens, per 1M output tokens, per request), used by the
# metering engine when the gateway reports no cost (SPEC §7). Other models have none (None).
LIST_PRICES: dict[str, tuple[str | None, str | None, str | None]] = {
    "anthropic/claude-opus-4.5": ("5", "25", None),
    "anthropic/claude-sonnet-4.5": ("3", "15", None),
    "anthropic/claude-haiku-4.5": ("1", "5", None),
    "anthropic/claude-opus-4.1": ("15", "75", None),
    "anthropic/claude-sonnet-4": ("3", "15", None),
    "openai/gpt-5.2": ("1.75", "14", None),
    "openai/gpt-5.1": ("1.25", "10", None),
    "openai/gpt-5": ("1.25", "10", None),
    "openai/gpt-5-mini": ("0.25", "2", None),
    "openai/gpt-5-nano": ("0.05", "0.40", None),
    "openai/gpt-4.1": ("2", "8", None),
    "openai/gpt-4.1-mini": ("0.40", "1.60", None),
    "openai/gpt-4o": ("2.50", "10", None),
    "openai/gpt-4o-mini": ("0.15", "0.60", None),
    "openai/o4-mini": ("1.10", "4.40", None),
    "openai/gpt-5-pro": ("15", "120", None),
    "openai/gpt-5.2-pro": ("21", "168", None),
    "google/gemini-2.5-pro": ("1.25", "10", None),
    "google/gemini-2.5-flash": ("0.30", "2.50", None),
    "google/gemini-2.5-flash-lite": ("0.10", "0.40", None),
    "google/gemini-3-pro-preview": ("2", "12", None),
    "x-ai/grok-4": ("3", "15", None),
    "x-ai/grok-code-fast-1": ("0.20", "1.50", None),
    "deepseek/deepseek-chat": ("0.28", "0.42", None),
    "deepseek/deepseek-reasoner": ("0.28", "0.42", None),
    "z-ai/glm-4.6": ("0.60", "2.20", None),
    "moonshotai/kimi-k2-thinking": ("0.60", "2.50", None),
}


@transaction.atomic
def seed_catalog() -> dict[str, int]:
    """Create missing plans, catalog models and the initial Flow rate. Safe to run any number of times."""
    created = {"plans": 0, "models": 0, "rates": 0}
    plans = {plan.tier: plan for plan in Plan.objects.all()}
    for tier, name, rank, price, q5h, weekly, monthly, rpm in PLANS:
        if tier in plans:
            continue
        plans[tier] = Plan.objects.create(
            tier=tier,
            name=name,
            rank=rank,
            price_usd=Decimal(price),
            quota_5h_flows=Decimal(q5h),
            weekly_max_flows=Decimal(weekly),
            monthly_max_flows=Decimal(monthly),
            rpm=rpm,
            window_resets_per_cycle=WINDOW_RESETS.get(tier, 0),
        )
        created["plans"] += 1
    existing = set(CatalogModel.objects.values_list("slug", flat=True))
    missing = []
    for order, (slug, display, provider, category, tier, status) in enumerate(CATALOG):
        if slug in existing:
            continue
        prices = LIST_PRICES.get(slug, (None, None, None))
        missing.append(
            CatalogModel(
                slug=slug,
                display_name=display,
                provider=provider,
                category=category,
                min_plan=plans[tier],
                status=status,
                input_usd_per_mtok=Decimal(prices[0]) if prices[0] else None,
                output_usd_per_mtok=Decimal(prices[1]) if prices[1] else None,
                usd_per_request=Decimal(prices[2]) if prices[2] else None,
                sort_order=order,
            )
        )
    # ignore_conflicts: two seeders racing on a fresh database never fail on the unique slug.
    CatalogModel.objects.bulk_create(missing, ignore_conflicts=True)
    created["models"] = len(missing)
    if not FlowRate.objects.exists():
        FlowRate.objects.create(
            usd_per_flow=settings.FLOWPORT_DEFAULT_USD_PER_FLOW,
            effective_from=timezone.now(),
            note="Initial rate: 1/39.6 USD per Flow",
        )
        created["rates"] = 1
    return created
