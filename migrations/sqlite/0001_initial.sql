-- tradeterm schema, version 1 (SQLite).
-- Times are epoch milliseconds (INTEGER); exact amounts are TEXT holding the decimal as written
-- (a NUMERIC column would turn them into floats); analysis values are REAL; JSON is TEXT;
-- booleans are 0/1. Keys match tradeterm/store/schema.py; every write is an idempotent upsert.
-- TEXT primary keys say NOT NULL explicitly: SQLite would otherwise accept NULL in them.

-- Candles are keyed by a small series id instead of (venue, symbol, tf): half the index, and a
-- measurably faster bulk upsert. candles_view shows the logical key.
CREATE TABLE candle_series (
    series_id INTEGER PRIMARY KEY,
    venue     TEXT    NOT NULL,
    symbol    TEXT    NOT NULL,
    tf        TEXT    NOT NULL,
    UNIQUE (venue, symbol, tf)
);

-- No foreign key to candle_series: it would add an index probe to every candle written, and
-- series rows are never deleted.
CREATE TABLE candles (
    series_id       INTEGER NOT NULL,
    open_time       INTEGER NOT NULL,
    close_time      INTEGER NOT NULL,
    open            REAL    NOT NULL,
    high            REAL    NOT NULL,
    low             REAL    NOT NULL,
    close           REAL    NOT NULL,
    volume          REAL    NOT NULL,
    quote_volume    REAL    NOT NULL,
    trades          INTEGER NOT NULL,
    taker_buy_base  REAL    NOT NULL,
    taker_buy_quote REAL    NOT NULL,
    closed          INTEGER NOT NULL,
    PRIMARY KEY (series_id, open_time)
) WITHOUT ROWID;

CREATE VIEW candles_view AS
SELECT s.venue, s.symbol, s.tf, c.open_time, c.close_time, c.open, c.high, c.low, c.close,
       c.volume, c.quote_volume, c.trades, c.taker_buy_base, c.taker_buy_quote, c.closed
FROM candles c JOIN candle_series s USING (series_id);

CREATE TABLE features (
    venue          TEXT    NOT NULL,
    symbol         TEXT    NOT NULL,
    tf             TEXT    NOT NULL,
    "time"         INTEGER NOT NULL,
    confirmed_at   INTEGER NOT NULL,
    feature_values TEXT    NOT NULL,
    PRIMARY KEY (venue, symbol, tf, "time")
);

CREATE TABLE swings (
    venue        TEXT    NOT NULL,
    symbol       TEXT    NOT NULL,
    tf           TEXT    NOT NULL,
    "time"       INTEGER NOT NULL,
    confirmed_at INTEGER NOT NULL,
    event_id     TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    direction    TEXT    NOT NULL,
    price        REAL    NOT NULL,
    label        TEXT,
    ref_time     INTEGER,
    PRIMARY KEY (venue, symbol, tf, event_id)
);
CREATE INDEX swings_time_idx ON swings (venue, symbol, tf, "time");

CREATE TABLE smc_events (
    venue        TEXT    NOT NULL,
    symbol       TEXT    NOT NULL,
    tf           TEXT    NOT NULL,
    "time"       INTEGER NOT NULL,
    confirmed_at INTEGER NOT NULL,
    event_id     TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    direction    TEXT    NOT NULL,
    price        REAL    NOT NULL,
    label        TEXT,
    ref_time     INTEGER,
    PRIMARY KEY (venue, symbol, tf, event_id)
);
CREATE INDEX smc_events_time_idx ON smc_events (venue, symbol, tf, "time");

-- A zone's change of state is a new row (same zone_id, later confirmed_at): history is kept.
CREATE TABLE zones (
    venue        TEXT    NOT NULL,
    symbol       TEXT    NOT NULL,
    tf           TEXT    NOT NULL,
    "time"       INTEGER NOT NULL,
    confirmed_at INTEGER NOT NULL,
    zone_id      TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    direction    TEXT    NOT NULL,
    top          REAL    NOT NULL,
    bottom       REAL    NOT NULL,
    state        TEXT    NOT NULL,
    fill_pct     REAL    NOT NULL,
    PRIMARY KEY (venue, symbol, tf, zone_id, confirmed_at)
);
CREATE INDEX zones_time_idx ON zones (venue, symbol, tf, "time");

CREATE TABLE signals (
    signal_id      TEXT    NOT NULL PRIMARY KEY,
    venue          TEXT    NOT NULL,
    symbol         TEXT    NOT NULL,
    tf             TEXT    NOT NULL,
    "time"         INTEGER NOT NULL,
    confirmed_at   INTEGER NOT NULL,
    strategy       TEXT    NOT NULL,
    side           TEXT    NOT NULL,
    entry          TEXT    NOT NULL,
    stop           TEXT    NOT NULL,
    take_profits_r TEXT    NOT NULL,
    score          REAL    NOT NULL,
    ttl_bars       INTEGER NOT NULL,
    zone_id        TEXT,
    reasons        TEXT    NOT NULL
);
CREATE INDEX signals_time_idx ON signals (venue, symbol, tf, "time");

CREATE TABLE regimes (
    venue          TEXT    NOT NULL,
    symbol         TEXT    NOT NULL,
    tf             TEXT    NOT NULL,
    "time"         INTEGER NOT NULL,
    confirmed_at   INTEGER NOT NULL,
    volatility     TEXT    NOT NULL,
    trend          TEXT    NOT NULL,
    atr_percentile REAL    NOT NULL,
    ema_slope      REAL    NOT NULL,
    PRIMARY KEY (venue, symbol, tf, "time")
);

CREATE TABLE decisions (
    decision_id  TEXT    NOT NULL PRIMARY KEY,
    signal_id    TEXT,
    venue        TEXT    NOT NULL,
    symbol       TEXT    NOT NULL,
    side         TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    order_type   TEXT    NOT NULL,
    entry        TEXT,
    stop         TEXT    NOT NULL,
    quantity     TEXT    NOT NULL,
    take_profits TEXT    NOT NULL,
    risk_amount  TEXT    NOT NULL,
    leverage     INTEGER NOT NULL,
    reasons      TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER
);
CREATE INDEX decisions_created_idx ON decisions (created_at);

-- Latest known state per order. status_rank breaks (sequence, event_time) ties by lifecycle
-- progress; an update whose (sequence, event_time, status_rank) is not greater is ignored.
CREATE TABLE orders (
    client_order_id   TEXT    NOT NULL PRIMARY KEY,
    venue             TEXT    NOT NULL,
    symbol            TEXT    NOT NULL,
    exchange_order_id TEXT,
    decision_id       TEXT,
    leg               TEXT    NOT NULL,
    leg_index         INTEGER NOT NULL,
    side              TEXT    NOT NULL,
    order_type        TEXT    NOT NULL,
    status            TEXT    NOT NULL,
    price             TEXT,
    stop_price        TEXT,
    orig_qty          TEXT    NOT NULL,
    filled_qty        TEXT    NOT NULL,
    avg_price         TEXT,
    last_fill_qty     TEXT,
    last_fill_price   TEXT,
    fee               TEXT    NOT NULL,
    fee_asset         TEXT,
    reduce_only       INTEGER NOT NULL,
    reason            TEXT,
    event_time        INTEGER NOT NULL,
    sequence          INTEGER NOT NULL,
    status_rank       INTEGER NOT NULL
);
CREATE INDEX orders_status_idx ON orders (status);
CREATE INDEX orders_decision_idx ON orders (decision_id);

CREATE TABLE order_lists (
    list_id          TEXT    NOT NULL PRIMARY KEY,
    venue            TEXT    NOT NULL,
    symbol           TEXT    NOT NULL,
    decision_id      TEXT,
    kind             TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    client_order_ids TEXT    NOT NULL,
    exchange_list_id TEXT,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX order_lists_decision_idx ON order_lists (decision_id);

CREATE TABLE fills (
    venue           TEXT    NOT NULL,
    symbol          TEXT    NOT NULL,
    trade_id        TEXT    NOT NULL,
    client_order_id TEXT    NOT NULL,
    side            TEXT    NOT NULL,
    price           TEXT    NOT NULL,
    quantity        TEXT    NOT NULL,
    quote_quantity  TEXT    NOT NULL,
    fee             TEXT    NOT NULL,
    fee_asset       TEXT,
    is_maker        INTEGER NOT NULL,
    "time"          INTEGER NOT NULL,
    PRIMARY KEY (venue, symbol, trade_id)
);
CREATE INDEX fills_order_idx ON fills (client_order_id);

CREATE TABLE positions (
    venue          TEXT    NOT NULL,
    symbol         TEXT    NOT NULL,
    position_side  TEXT    NOT NULL,
    quantity       TEXT    NOT NULL,
    entry_price    TEXT    NOT NULL,
    realized_pnl   TEXT    NOT NULL,
    unrealized_pnl TEXT    NOT NULL,
    leverage       INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (venue, symbol, position_side)
);

CREATE TABLE trades (
    trade_id    TEXT    NOT NULL PRIMARY KEY,
    venue       TEXT    NOT NULL,
    symbol      TEXT    NOT NULL,
    side        TEXT    NOT NULL,
    decision_id TEXT,
    status      TEXT    NOT NULL,
    opened_at   INTEGER NOT NULL,
    closed_at   INTEGER,
    quantity    TEXT    NOT NULL,
    entry_price TEXT    NOT NULL,
    exit_price  TEXT,
    risk_amount TEXT,
    pnl         TEXT,
    fees        TEXT    NOT NULL,
    r_multiple  TEXT
);
CREATE INDEX trades_opened_idx ON trades (opened_at);

-- Contracts without a table of their own (news and funding windows), as their wire JSON.
CREATE TABLE events (
    topic     TEXT    NOT NULL,
    event_key TEXT    NOT NULL,
    venue     TEXT,
    symbol    TEXT,
    "time"    INTEGER NOT NULL,
    payload   TEXT    NOT NULL,
    PRIMARY KEY (topic, event_key)
);
CREATE INDEX events_time_idx ON events (topic, "time");

CREATE TABLE journal (
    note_id    INTEGER PRIMARY KEY,
    trade_id   TEXT,
    created_at INTEGER NOT NULL,
    body       TEXT    NOT NULL
);
CREATE INDEX journal_trade_idx ON journal (trade_id);

CREATE TABLE journal_tags (
    note_id INTEGER NOT NULL REFERENCES journal (note_id) ON DELETE CASCADE,
    tag     TEXT    NOT NULL,
    pos     INTEGER NOT NULL,
    PRIMARY KEY (note_id, tag)
);
CREATE INDEX journal_tags_tag_idx ON journal_tags (tag);

CREATE TABLE audit_log (
    audit_id INTEGER PRIMARY KEY,
    at       INTEGER NOT NULL,
    kind     TEXT    NOT NULL,
    message  TEXT    NOT NULL,
    data     TEXT    NOT NULL
);
CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE INDEX audit_log_kind_idx ON audit_log (kind, at);
