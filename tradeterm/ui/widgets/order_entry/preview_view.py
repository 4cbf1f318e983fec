"""The live preview of a bracket: what would really be sent after rounding.

Renders a :class:`tradeterm.trading.Preview` as aligned text lines: size, notional, margin, 1R
and the risk at the stop (with fees), the rounded entry/stop, one line per take-profit with its
R:R on the rounded prices, the fees, the liquidation estimate on futures, and every rounding and
note the planner produced — so a trader sees exactly what a keystroke changed.
"""

from __future__ import annotations

from decimal import Decimal

from rich.text import Text
from textual.widgets import Static

from tradeterm.trading import Preview
from tradeterm.ui.widgets.format import dec, num

_CENT = Decimal("0.01")


def _money(value: Decimal, quote: str) -> str:
    return f"{num(value.quantize(_CENT))} {quote}"


def preview_text(pv: Preview, quote: str = "USDT", *, futures: bool = False) -> Text:
    t = Text(no_wrap=False)

    def row(label: str, value: str, style: str = "") -> None:
        t.append(f"{label:<13}", style="dim")
        t.append(value + "\n", style=style)

    kind = pv.order_type.value
    entry = dec(pv.entry) if pv.entry is not None else f"market ~{dec(pv.entry_estimate)}"
    row("Order", f"{pv.side.value} {kind} {entry}", "bold")
    row("Quantity", dec(pv.quantity), "bold")
    row("Notional", _money(pv.notional, quote))
    if futures:
        row("Margin", f"{_money(pv.margin, quote)} at {pv.leverage}x")
        liq = dec(pv.liquidation_price) if pv.liquidation_price is not None else "-"
        row("Liquidation", liq, "bold")
    row("Stop", dec(pv.stop))
    row("1R", _money(pv.risk_amount, quote))
    row("Risk at stop", _money(pv.risk_quote, quote))
    row("  with fees", _money(pv.risk_quote_with_fees, quote))
    for tp in pv.targets:
        row(
            f"TP{tp.index} {dec(tp.r_multiple)}R",
            f"{dec(tp.price)} × {dec(tp.quantity)}  R:R {tp.reward_to_risk:.2f}  "
            f"+{num(tp.profit.quantize(_CENT))}",
        )
    if not pv.targets:
        row("Targets", "-")
    f = pv.fees
    row(
        "Fees in",
        f"{num(f.entry_maker.quantize(_CENT))} maker / {num(f.entry_taker.quantize(_CENT))} taker",
    )
    row(
        "Fees out",
        f"{num(f.exit_at_targets.quantize(_CENT))} TPs / {num(f.exit_at_stop.quantize(_CENT))} stop",
    )
    for line in pv.rounding:
        t.append(f"≈ {line}\n", style="italic")
    for line in pv.notes:
        t.append(f"• {line}\n", style="dim")
    if pv.ok:
        t.append("✓ ready to send", style="bold green")
    else:
        t.append(
            f"✗ refused ({len(pv.reasons)} problem{'s' if len(pv.reasons) != 1 else ''})",
            style="bold red",
        )
    return t


class PreviewView(Static):
    """Shows a preview, or why there is none yet."""

    def show(
        self, pv: Preview | None, *, quote: str = "USDT", futures: bool = False, waiting: str = ""
    ) -> None:
        if pv is None:
            self.update(Text(waiting or "fix the marked fields to see the preview", style="dim"))
        else:
            self.update(preview_text(pv, quote, futures=futures))
