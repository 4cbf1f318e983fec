-- tradeterm schema, version 2 (Postgres): the paper account's matching-engine state, so a paper
-- account outlives its process. One row per piece (kind = account | order | list | trade),
-- written in the same transaction as the broker's journal of the events that changed it.
-- data is JSON kept as text (restored exactly as written, amounts as decimal strings); version
-- only grows (an older write never overwrites a newer row).
CREATE TABLE paper_state (
    venue      TEXT   NOT NULL,
    kind       TEXT   NOT NULL,
    item_key   TEXT   NOT NULL,
    version    BIGINT NOT NULL,
    data       TEXT   NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (venue, kind, item_key)
);
