"""The sandbox's PDF receipt for a paid payment (Stripe payments link to Stripe's hosted invoice instead)."""

from django.utils import translation
from django.utils.translation import gettext as _
from fpdf import FPDF

from apps.accounts.models import InvoiceDetails
from apps.billing.models import Payment
from apps.core.money import round_cents


def payment_receipt_pdf(*, payment: Payment) -> bytes:
    """Render a one-page receipt: account e-mail, line item, amount, date, receipt number.

    Rendered in English: the PDF core fonts cover Latin-1 only, and no CJK font is bundled.
    """
    with translation.override("en"):
        amount = f"${round_cents(payment.amount_usd):,.2f} USD"
        paid_at = payment.paid_at or payment.created_at
        pdf = FPDF(format="A4")
        pdf.set_title(_("Receipt %(number)s") % {"number": payment.receipt_number})
        pdf.set_author("Flowport")
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 20)
        pdf.cell(0, 12, "Flowport", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 14)
        pdf.cell(0, 10, _("Receipt"), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
        pdf.set_font("Helvetica", "", 11)
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
            pdf.cell(0, 8, _latin1(value), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(6)
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(130, 8, _("Description"), border="B")
        pdf.cell(0, 8, _("Amount"), border="B", align="R", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 11)
        line_item = f"{payment.get_purpose_display()}: {payment.description}"
        pdf.cell(130, 8, _latin1(line_item))
        pdf.cell(0, 8, amount, align="R", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(130, 10, _("Total paid"), border="T")
        pdf.cell(0, 10, amount, border="T", align="R", new_x="LMARGIN", new_y="NEXT")
        if payment.refunded_usd:
            pdf.set_font("Helvetica", "", 11)
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
