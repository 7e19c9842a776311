"""The sandbox's PDF receipt for a paid payment (Stripe payments link to Stripe's hosted invoice instead)."""

import logging
from pathlib import Path

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from fpdf import FPDF

from apps.accounts.models import InvoiceDetails
from apps.billing.models import Payment
from apps.core.money import round_cents

logger = logging.getLogger(__name__)
CJK_FAMILY = "Flowport CJK"


def _cjk_font() -> Path | None:
    """The CJK-capable font receipts embed (settings.FLOWPORT_RECEIPT_FONT; `make setup` and CI install
    Debian's fonts-wqy-microhei), or None when it is missing."""
    path = Path(settings.FLOWPORT_RECEIPT_FONT)
    return path if path.is_file() else None


def payment_receipt_pdf(*, payment: Payment) -> bytes:
    """Render a one-page receipt in the reader's language: account e-mail, line item, amount, date, number.

    The text is set in a CJK-capable font (embedded, subset to the glyphs used), so a Chinese receipt reads
    as Chinese. Without that font the receipt falls back to English in the PDF core fonts (Latin-1 only),
    never to "?" marks, and a warning is logged.
    """
    font = _cjk_font()
    if font is None:
        logger.warning(
            "Receipt font %s is missing: receipt rendered in English.", settings.FLOWPORT_RECEIPT_FONT
        )
    with translation.override(translation.get_language() if font else "en"):
        amount = f"${round_cents(payment.amount_usd):,.2f} USD"
        paid_at = payment.paid_at or payment.created_at
        pdf = FPDF(format="A4")
        text = _latin1
        family = "Helvetica"
        if font:
            pdf.add_font(CJK_FAMILY, "", str(font))
            pdf.add_font(CJK_FAMILY, "B", str(font))  # one weight: bold headings use the same face
            family = CJK_FAMILY
            text = str
        pdf.set_title(_("Receipt %(number)s") % {"number": payment.receipt_number})
        pdf.set_author("Flowport")
        pdf.add_page()
        pdf.set_font(family, "B", 20)
        pdf.cell(0, 12, "Flowport", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(family, "", 14)
        pdf.cell(0, 10, _("Receipt"), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
        pdf.set_font(family, "", 11)
        rows = [
            (_("Receipt number"), payment.receipt_number or ""),
            (_("Date paid"), f"{paid_at:%Y-%m-%d %H:%M} UTC"),
            *_billed_to(payment.account),
            (
                _("Payment method"),
                _("Sandbox (no real charge)") if payment.provider == "sandbox" else payment.provider,
            ),
        ]
        for label, value in rows:
            pdf.cell(50, 8, label)
            pdf.cell(0, 8, text(value), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(6)
        pdf.set_font(family, "B", 11)
        pdf.cell(130, 8, _("Description"), border="B")
        pdf.cell(0, 8, _("Amount"), border="B", align="R", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(family, "", 11)
        # Descriptions are stored in English; a catalogued one reads in the reader's language.
        line_item = (
            f"{payment.get_purpose_display()}: {_(payment.description) if payment.description else ''}"
        )
        pdf.cell(130, 8, text(line_item))
        pdf.cell(0, 8, amount, align="R", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(family, "B", 11)
        pdf.cell(130, 10, _("Total paid"), border="T")
        pdf.cell(0, 10, amount, border="T", align="R", new_x="LMARGIN", new_y="NEXT")
        if payment.refunded_usd:
            pdf.set_font(family, "", 11)
            pdf.cell(130, 8, _("Refunded"))
            pdf.cell(
                0,
                8,
                f"-${round_cents(payment.refunded_usd):,.2f} USD",
                align="R",
                new_x="LMARGIN",
                new_y="NEXT",
            )
        return bytes(pdf.output())


def _billed_to(account) -> list[tuple[str, str]]:
    """ "Billed to": the invoice details (legal name, address, country), the e-mail, then the tax ID."""
    details = InvoiceDetails.objects.filter(account=account).first()
    lines = [*(details.lines() if details else []), account.email]
    rows = [(_("Billed to") if index == 0 else "", line) for index, line in enumerate(lines)]
    if details and details.tax_id:
        rows.append((_("Tax ID"), details.tax_id))
    return rows


def _latin1(text: str) -> str:
    """The core PDF fonts are Latin-1: keep the arrow readable, replace anything else they cannot show."""
    return (
        text.replace("→", "->")
        .replace("–", "-")
        .replace("·", "-")
        .encode("latin-1", "replace")
        .decode("latin-1")
    )
