"""Pipeline controller: one wiring of feeds, analysis, guards, decisions, broker and store for the
TUI, the daemon and replay. UIs read :mod:`tradeterm.pipeline.readmodel` and send intents."""
