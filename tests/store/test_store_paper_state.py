"""The paper account's table on both backends: rows ride in ``write`` with the journal, come
back oldest write first, exactly as written, an older version never overwrites a newer one, and
a reset forgets one account only."""

from __future__ import annotations

from tradeterm.contracts import OrderUpdateV1
from tradeterm.store.protocol import Store
from tradeterm.store.records import PaperStateRow


def _row(kind: str, key: str, version: int, data: str, venue: str = "paper") -> PaperStateRow:
    return PaperStateRow(venue, kind, key, version, data, 1_700_000_000_000 + version)


async def test_rows_round_trip_with_the_journal_in_one_write(store: Store, make_order) -> None:  # type: ignore[no-untyped-def]
    exact = '{"free":{"USDT":"8140.81909100"},"locked":{"BTC":"9.08180"}}'
    u: OrderUpdateV1 = make_order("NEW", sequence=1, event_time=1_700_000_000_000)
    assert await store.write([u, _row("account", "account", 1, exact), _row("order", "BTCUSDT:1", 1, "{}")]) == 3
    assert await store.get_order(u.client_order_id) is not None
    rows = await store.load_paper_state("paper")
    assert [(r.kind, r.item_key, r.version) for r in rows] == [("account", "account", 1), ("order", "BTCUSDT:1", 1)]
    assert rows[0].data == exact  # text as written: amounts keep every digit


async def test_newer_version_wins_and_order_is_oldest_write_first(store: Store) -> None:
    await store.write([_row("account", "account", 2, "v2"), _row("order", "BTCUSDT:1", 1, "o1")])
    assert await store.write([_row("account", "account", 1, "v1-late")]) == 0  # a late, older save
    assert await store.write([_row("account", "account", 2, "v2")]) == 0  # a re-write
    await store.write([_row("order", "BTCUSDT:1", 3, "o3")])
    rows = await store.load_paper_state("paper")
    assert [(r.item_key, r.version, r.data) for r in rows] == [("account", 2, "v2"), ("BTCUSDT:1", 3, "o3")]


async def test_reset_forgets_one_account(store: Store) -> None:
    await store.write([_row("account", "account", 1, "a"), _row("order", "BTCUSDT:1", 1, "o"),
                       _row("account", "account", 1, "b", venue="paper-2")])  # fmt: skip
    assert await store.reset_paper_state("paper") == 2
    assert await store.load_paper_state("paper") == []
    assert [r.data for r in await store.load_paper_state("paper-2")] == ["b"]
    assert await store.reset_paper_state("paper") == 0
