-- tradeterm schema, version 2 (SQLite): the paper account's matching-engine state, so a paper
-- account outlives its process. One row per piece (kind = account | order | list | trade),
-- written in the same transaction as the broker's journal of the events that changed it.
-- data is JSON text with amounts as exact decimal strings; version only grows (an older write
-- never overwrites a newer row).
CREATE TABLE paper_state (
    venue      TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    item_key   TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    data       TEXT    NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (venue, kind, item_key)
) WITHOUT ROWID;
