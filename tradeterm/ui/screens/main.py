"""The workstation screen: chart in the middle, panels around it, snapshots in, intents out.

Layout (``styles/app.tcss``): a status line and the guard badges on top; the chart with the
watchlist and the signal queue in a side column beside it; the blotter and the activity log
across the full width below.
The screen picks size classes on every resize so small terminals stay usable and large ones use
the room: below 110 columns the side column and the log are hidden and come back when focused
(F3/F4/F6, or ``ctrl+b``), with fewer than 32 rows the bottom row shrinks, and from 160 columns /
50 rows the side column and the bottom row grow.

Widgets post messages (:mod:`tradeterm.ui.messages`); this screen is the one place that turns
them into intent calls, with a confirmation first for anything irreversible. Refusals
(:class:`~tradeterm.errors.UserError`) become notifications; results show up in later snapshots.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.geometry import Size
from textual.reactive import Reactive
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import RichLog

from tradeterm.errors import UserError
from tradeterm.pipeline.readmodel import Intents, Snapshot, market_label
from tradeterm.ui.keys import SCREEN_KEYS, bindings
from tradeterm.ui.messages import (
    BracketCancelRequested,
    PositionCloseRequested,
    SignalApproved,
    SignalRejected,
    SymbolChosen,
)
from tradeterm.ui.screens.bracket import BracketPanel
from tradeterm.ui.screens.confirm import ConfirmScreen
from tradeterm.ui.screens.theme_picker import ThemePicker
from tradeterm.ui.widgets.activity_log import ActivityLog
from tradeterm.ui.widgets.blotter import Blotter, BracketTable, OrderTable, PositionTable
from tradeterm.ui.widgets.chart import ChartWidget
from tradeterm.ui.widgets.guard_bar import GuardBar
from tradeterm.ui.widgets.order_entry.form import FormValues
from tradeterm.ui.widgets.order_entry.markets import market_venues
from tradeterm.ui.widgets.signal_queue import SignalQueue
from tradeterm.ui.widgets.status_bar import KeyFooter, StatusBar
from tradeterm.ui.widgets.watchlist import Watchlist

NARROW_BELOW = 110
SHORT_BELOW = 32
WIDE_FROM = 160
TALL_FROM = 50
SIDE_IDS = ("watchlist", "signals")


def size_classes(size: Size) -> dict[str, bool]:
    """The layout classes for a terminal size (pure, so tests can check the thresholds)."""
    return {
        "-narrow": size.width < NARROW_BELOW,
        "-short": size.height < SHORT_BELOW,
        "-wide": size.width >= WIDE_FROM,
        "-tall": size.height >= TALL_FROM,
    }


def venue_of(snap: Snapshot | None, pipeline: object) -> str:
    """The venue a manual ticket is for: the snapshot names the broker's venue."""
    if snap is not None:
        return snap.venue
    candidate = getattr(pipeline, "venue", None)
    return candidate if isinstance(candidate, str) and candidate else "paper"


class MainScreen(Screen[None]):
    """The workstation. ``show(snapshot)`` is called by the app at the frame rate."""

    BINDINGS = bindings(SCREEN_KEYS)

    # Textual's Screen declares ``focused`` as a repainting reactive, so every focus change
    # re-rendered the whole screen (~50 KB of output, 20-50 ms with the chart and the tables).
    # Nothing here needs that: the focused and blurred widgets refresh themselves on Focus/Blur,
    # ``:focus-within`` ancestors are restyled by the screen, and the footer follows the
    # bindings. The watcher (``_watch_focused``: refresh the bindings) still runs.
    focused: Reactive[Widget | None] = Reactive(None, repaint=False)

    def __init__(
        self,
        pipeline: Intents,
        *,
        poll: Callable[[], None] = lambda: None,
        theme_names: Sequence[str] = (),
    ) -> None:
        super().__init__(id="main")
        self.intents = pipeline
        self.poll = poll
        self.theme_names = tuple(theme_names)
        self.snapshot: Snapshot | None = None
        self.ready = False  # panels composed: show() may be called

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield GuardBar(id="guards")
        with Horizontal(id="body"):
            yield ChartWidget(id="chart")
            with Vertical(id="side"):
                yield Watchlist(id="watchlist", classes="panel")
                yield SignalQueue(id="signals", classes="panel")
        with Horizontal(id="bottom"):
            yield Blotter(id="blotter", classes="panel")
            yield ActivityLog(id="log", classes="panel")
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        self._apply_size(self.app.size)
        self.query_one(ChartWidget).focus()
        # The panels exist now (compose ran before Mount): show the first snapshot before the
        # first frame, so that frame already has data (and the tables their column widths)
        # instead of an empty screen that a key or a screenshot could catch.
        # The panels are held, not queried, per snapshot: cheaper at the frame rate, and a poll
        # that lands while the app shuts down (its children pruned one by one) then updates
        # detached widgets harmlessly instead of failing on a panel already removed.
        self._status = self.query_one(StatusBar)
        self._guards = self.query_one(GuardBar)
        self._chart = self.query_one(ChartWidget)
        self._watchlist = self.query_one(Watchlist)
        self._signals = self.query_one(SignalQueue)
        self._blotter = self.query_one(Blotter)
        self._log = self.query_one(ActivityLog)
        self.ready = True
        self.poll()

    # ------------------------------------------------------------------ snapshots

    def current(self) -> Snapshot | None:
        """The snapshot on screen, pulled now if none has arrived yet: a key pressed in the
        first frame (before the first poll) must act on real state, not be dropped."""
        if self.snapshot is None:
            self.poll()
        return self.snapshot

    def show(self, snap: Snapshot) -> None:
        """Push one snapshot into every panel; each skips work when its part is unchanged."""
        previous = self.snapshot
        self.snapshot = snap
        self._status.show(snap)
        self._guards.show(snap.guards)
        if snap.chart is not None and (previous is None or snap.chart is not previous.chart):
            self._chart.set_data(snap.chart)
        self._watchlist.show(snap.watchlist, snap.symbol)
        self._signals.show(snap.signals)
        self._blotter.show(snap.brackets, snap.orders, snap.positions, snap.markets, snap.market)
        self._log.show(snap.log)

    # ------------------------------------------------------------------ layout

    def on_resize(self, event: events.Resize) -> None:
        self._apply_size(event.size)

    def _apply_size(self, size: Size) -> None:
        for name, on_ in size_classes(size).items():
            self.set_class(on_, name)

    def _inside(self, widget: Widget, container_id: str) -> bool:
        node: Any = widget
        while node is not None:
            if getattr(node, "id", None) == container_id:
                return True
            node = node.parent
        return False

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """On a narrow terminal the side column and the log show while they hold the focus."""
        if not self.has_class("-narrow"):
            return
        self.set_class(self._inside(event.widget, "side"), "-side-open")
        self.set_class(self._inside(event.widget, "log"), "-log-open")

    def action_toggle_side(self) -> None:
        if self.has_class("-narrow"):
            self.toggle_class("-side-open")
            if self.has_class("-side-open"):
                self.call_after_refresh(self.query_one(Watchlist).focus)
            else:
                self.query_one(ChartWidget).focus()
        else:
            self.toggle_class("-side-hidden")

    def panel_widget(self, name: str) -> Widget:
        """The focusable widget of a panel (``chart``, ``watchlist``, ``signals``, …)."""
        if name == "blotter":
            blotter = self.query_one(Blotter)
            table = {"brackets": BracketTable, "orders": OrderTable, "positions": PositionTable}
            return blotter.query_one(table[blotter.active_tab])
        if name == "log":
            return self.query_one("#log-lines", RichLog)
        return self.query_one(f"#{name}", Widget)

    def action_focus_panel(self, name: str) -> None:
        if name in SIDE_IDS:
            self.remove_class("-side-hidden")
            if self.has_class("-narrow"):
                self.add_class("-side-open")
        if name == "log" and self.has_class("-narrow"):
            self.add_class("-log-open")
        widget = self.panel_widget(name)
        self.call_after_refresh(widget.focus)

    # ------------------------------------------------------------------ intents

    def _refused(self, exc: UserError) -> None:
        self.notify(str(exc), title="Refused", severity="error", timeout=6)

    def _call(self, fn: Callable[..., object], *args: object) -> bool:
        try:
            fn(*args)
        except UserError as exc:
            self._refused(exc)
            return False
        self.poll()
        return True

    @work(group="intents", exit_on_error=False)
    async def run_intent(self, done: str, coro: Awaitable[object]) -> None:
        """Await an async intent; say what happened, then pull a fresh snapshot."""
        try:
            await coro
        except UserError as exc:
            self._refused(exc)
        else:
            self.notify(done, timeout=4)
        self.poll()

    def action_timeframe(self, step: int) -> None:
        snap = self.current()
        if snap is None or not snap.timeframes:
            return
        tfs = list(snap.timeframes)
        i = tfs.index(snap.tf) if snap.tf in tfs else 0
        j = min(max(i + step, 0), len(tfs) - 1)
        if j != i:
            self._call(self.intents.select, snap.symbol, tfs[j])

    def select(self, symbol: str | None = None, tf: str | None = None) -> None:
        """Chart ``symbol`` on ``tf`` (either defaults to what is shown now)."""
        snap = self.current()
        if snap is None:
            return
        self._call(self.intents.select, symbol or snap.symbol, tf or snap.tf)

    @on(SymbolChosen)
    def _symbol_chosen(self, message: SymbolChosen) -> None:
        self.select(symbol=message.symbol)

    @on(SignalRejected)
    def _signal_rejected(self, message: SignalRejected) -> None:
        if self._call(self.intents.reject_signal, message.signal_id):
            self.notify(f"Signal {message.signal_id} rejected", timeout=3)

    @on(SignalApproved)
    def _signal_approved(self, message: SignalApproved) -> None:
        try:
            ticket = self.intents.ticket_for_signal(message.signal_id)
        except UserError as exc:
            self._refused(exc)
            return
        self._open_panel(
            BracketPanel(
                self.intents,
                venue=ticket.venue,
                symbol=ticket.symbol,
                quote=self._quote(),
                ticket=ticket,
                origin=f"signal {message.signal_id}",
                **self._market_args(),
            )
        )

    def action_new_bracket(self) -> None:
        snap = self.current()
        if snap is None:
            return
        entry = ""
        if snap.chart is not None and len(snap.chart):
            entry = f"{float(snap.chart.frame.close[-1]):.{snap.chart.decimals}f}"
        self._open_panel(
            BracketPanel(
                self.intents,
                venue=venue_of(snap, self.intents),
                symbol=snap.symbol,
                quote=self._quote(),
                values=FormValues(entry=entry),
                **self._market_args(),
            )
        )

    def _market_args(self) -> dict[str, Any]:
        """The bracket panel's market arguments: it starts in the selected market and, when the
        pipeline trades several, offers a switch between them with each one's venue."""
        snap = self.current()
        if snap is None:
            return {}
        return {"market": snap.market, "markets": snap.markets, "venues": market_venues(snap)}

    def action_switch_market(self) -> None:
        """Select the next market the pipeline trades (spot -> USD-M -> spot): the account,
        venue, guards and chart follow, and new tickets default to it."""
        snap = self.current()
        if snap is None:
            return
        if len(snap.markets) < 2:
            only = market_label(snap.markets[0]) if snap.markets else "one market"
            self.notify(f"This profile trades {only} only", timeout=3)
            return
        i = snap.markets.index(snap.market) if snap.market in snap.markets else -1
        self.select_market(snap.markets[(i + 1) % len(snap.markets)])

    def select_market(self, market: str) -> None:
        """Ask the pipeline to select ``market`` (refused: a notification saying why)."""
        if self._call(self.intents.select_market, market):
            self.notify(f"Market: {market_label(market)}", title="Market", timeout=3)

    def _quote(self) -> str:
        snap = self.current()
        return snap.account.quote_asset if snap is not None and snap.account else "USDT"

    def _open_panel(self, panel: BracketPanel) -> None:
        def placed(bracket_id: str | None) -> None:
            if bracket_id:
                self.notify(f"Bracket {bracket_id} sent", title="Bracket", timeout=5)
                self.poll()

        self.app.push_screen(panel, placed)

    def _several_markets(self, market: str) -> bool:
        """Whether a row of ``market`` needs its market named: the pipeline trades more than
        one, or ``market`` is not the one it trades (the blotter's Mkt-column rule)."""
        snap = self.current()
        traded = set(snap.markets) if snap is not None and snap.markets else {"spot"}
        return len(traded | {market}) > 1

    @on(BracketCancelRequested)
    def _cancel_requested(self, message: BracketCancelRequested) -> None:
        # Named as the close confirmation names a position ("USD-M BTCUSDT"), but only while
        # several markets are traded: with one, the words stay as they always were.
        where = market_label(message.market) if self._several_markets(message.market) else ""
        what = f"{where} {message.symbol}" if where else message.symbol
        bracket = f"{where} bracket" if where else "Bracket"

        def answer(yes: bool | None) -> None:
            if yes:
                self.run_intent(
                    f"{bracket} {message.bracket_id} cancel sent",
                    self.intents.cancel_bracket(message.bracket_id),
                )

        self.app.push_screen(
            ConfirmScreen(
                f"Cancel {where} bracket?" if where else "Cancel bracket?",
                f"Cancel {what} bracket {message.bracket_id} and its resting orders?",
                confirm="Cancel it",
            ),
            answer,
        )

    @on(PositionCloseRequested)
    def _close_requested(self, message: PositionCloseRequested) -> None:
        where = market_label(message.market)

        def answer(yes: bool | None) -> None:
            if yes:
                self.run_intent(
                    f"{message.symbol} {where} close sent",
                    self.intents.close_position(message.symbol, message.market),
                )

        self.app.push_screen(
            ConfirmScreen(
                f"Close {where} position?",
                f"Close the {where} {message.symbol} position at market (reduce-only) "
                "and cancel its exits?",
                confirm="Close it",
                danger=True,
            ),
            answer,
        )

    def request_kill_switch(self) -> None:
        """Confirm, then trip the kill switch: cancel everything, flatten reduce-only."""

        def answer(yes: bool | None) -> None:
            if yes:
                self.run_intent(
                    "Kill switch tripped", self.intents.kill_switch("kill switch key in the UI")
                )

        self.app.push_screen(
            ConfirmScreen(
                "KILL SWITCH",
                "Cancel every open order and flatten every position (reduce-only)?\n"
                "New brackets are refused until the switch is reset (ctrl+r).",
                confirm="KILL",
                danger=True,
            ),
            answer,
        )

    def action_reset_kill_switch(self) -> None:
        def answer(yes: bool | None) -> None:
            if yes and self._call(self.intents.reset_kill_switch):
                self.notify("Kill switch reset: trading allowed again", timeout=5)

        self.app.push_screen(
            ConfirmScreen("Reset the kill switch?", "Allow new brackets again?", confirm="Reset"),
            answer,
        )

    def action_toggle_auto_trade(self) -> None:
        snap = self.current()
        if snap is not None:
            self._call(self.intents.set_auto_trade, snap.symbol, not snap.auto_trade)

    def action_pick_theme(self) -> None:
        self.app.push_screen(ThemePicker(self.theme_names or sorted(self.app.available_themes)))
