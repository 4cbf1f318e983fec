"""CLI subcommands, one module per command group.

Each module exposes ``register(subparsers)``, which adds its parser and sets ``handler`` via
``parser.set_defaults(handler=fn)``; ``fn(args, settings) -> int`` may be sync or async.
A command is listed in ``COMMAND_MODULES`` only once it really works (no placeholders).
"""

COMMAND_MODULES: tuple[str, ...] = (
    "tradeterm.commands.db",
    "tradeterm.commands.contracts",
    "tradeterm.commands.venue",
    "tradeterm.commands.data",
    "tradeterm.commands.analyze",
    "tradeterm.commands.orders",
)
