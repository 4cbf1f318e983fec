"""tradeterm: a trading workstation for the terminal."""

__version__ = "0.1.0"
