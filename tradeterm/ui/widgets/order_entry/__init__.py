"""The bracket (order entry) panel's parts: pure form parsing and the live preview view."""
