"""Economic-calendar text (TOML, CSV or iCalendar) into :class:`CalendarEvent` rows.

Pure functions over text: the caller reads the file (that is I/O and belongs to a command), this
module only interprets it, so it is trivially testable and usable on text from anywhere.

Every problem raises :class:`CalendarError` (a ``ValueError``) whose message starts with the
line it is about: a calendar silently missing an event would let the news guard wave a trade
through a CPI release, so nothing is skipped quietly.

Times must be unambiguous: an explicit UTC offset (``Z``/``+02:00``), epoch milliseconds, or a
local time with an IANA time zone (``tz`` key/column, or iCalendar ``TZID``). A time without any
of these is refused rather than guessed. Impact is ``high``, ``medium`` or ``low``; an event that
does not say is taken as **high** — it is in the calendar to be blocked around.

Formats
-------
TOML::

    tz = "America/New_York"          # optional default zone for local times
    [[events]]                       # or [[event]]
    title = "US CPI"
    time = 2026-01-13T08:30:00       # TOML datetime or string; epoch ms also accepted
    impact = "high"                  # optional
    currency = "USD"                 # optional
    id = "us-cpi-2026-01"            # optional

CSV with a header row (case-insensitive names; ``title`` may be ``event``/``name``/``summary``,
``time`` may be ``datetime``/``timestamp``): ``time,title[,impact][,currency][,id][,tz]``.

iCalendar (RFC 5545): each ``VEVENT`` with ``DTSTART`` (UTC ``…Z``, or ``TZID=…``) and
``SUMMARY``; ``UID`` is the id; impact from ``X-IMPACT``, else ``CATEGORIES`` (a category named
high/medium/low), else ``PRIORITY`` (1-4 high, 5 medium, 6-9 low). All-day events, floating
times and recurrence rules are refused (list each occurrence instead).
"""

from __future__ import annotations

import csv
import io
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tradeterm.contracts import Impact

CalendarFormat = Literal["toml", "csv", "ics", "auto"]
_FORMATS = ("toml", "csv", "ics", "auto")
_MIN_MS = 946_684_800_000  # 2000-01-01, the contracts' window
_MAX_MS = 7_258_118_400_000  # 2200-01-01


class CalendarError(ValueError):
    """A calendar that cannot be trusted; ``line`` is 1-based (0 when not tied to a line)."""

    def __init__(self, line: int, problem: str) -> None:
        self.line = line
        self.problem = problem
        super().__init__(f"line {line}: {problem}" if line else problem)


@dataclass(frozen=True, slots=True)
class CalendarEvent:
    """One scheduled release. ``line`` is where it was written, for later messages."""

    title: str
    time_ms: int
    impact: Impact
    currency: str | None = None
    uid: str | None = None
    line: int = 0


def calendar_format(filename: str) -> CalendarFormat:
    """The format a file name suggests (``.toml``, ``.csv``, ``.ics``/``.ical``), else "auto"."""
    lower = filename.lower()
    for ext, fmt in ((".toml", "toml"), (".csv", "csv"), (".ics", "ics"), (".ical", "ics")):
        if lower.endswith(ext):
            return fmt  # type: ignore[return-value]
    return "auto"


def parse_calendar(text: str, fmt: CalendarFormat | str = "auto") -> list[CalendarEvent]:
    """Parse calendar text; events come back sorted by time (then by line)."""
    if fmt not in _FORMATS:
        raise ValueError(f"calendar format must be one of {', '.join(_FORMATS)}, not {fmt!r}")
    text = text.removeprefix("\ufeff")
    if fmt == "auto":
        fmt = _sniff(text)
    parse = {"toml": _parse_toml, "csv": _parse_csv, "ics": _parse_ics}[fmt]
    events = parse(text)
    events.sort(key=lambda e: (e.time_ms, e.line))
    return events


def _sniff(text: str) -> str:
    """By the first line that is not blank or a comment: iCalendar starts with BEGIN:VCALENDAR,
    TOML with a table header or ``key =``, anything else is read as CSV."""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.upper().startswith("BEGIN:VCALENDAR"):
            return "ics"
        if re.match(r"^(\[|[A-Za-z_][\w-]*\s*=)", stripped):
            return "toml"
        return "csv"
    return "csv"


# ------------------------------------------------------------------------------------ values
def _impact(value: Any, line: int) -> Impact:
    if value is None or (isinstance(value, str) and not value.strip()):
        return Impact.HIGH
    if not isinstance(value, str):
        raise CalendarError(line, f"impact must be high, medium or low, not {value!r}")
    try:
        return Impact(value.strip().upper())
    except ValueError:
        raise CalendarError(line, f"impact must be high, medium or low, not {value!r}") from None


def _zone(name: str, line: int) -> ZoneInfo:
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise CalendarError(
            line, f"unknown time zone {name!r} (use an IANA name like Europe/London)"
        ) from None


def _check_range(ms: int, line: int) -> int:
    if not _MIN_MS <= ms <= _MAX_MS:
        raise CalendarError(line, f"time {ms} is outside 2000..2200 (epoch milliseconds expected)")
    return ms


def _dt_to_ms(dt: datetime, tz: ZoneInfo | None, line: int, shown: str) -> int:
    if dt.tzinfo is None:
        if tz is None:
            raise CalendarError(
                line, f"time {shown!r} has no UTC offset and no time zone was given"
            )
        dt = dt.replace(tzinfo=tz)
    return _check_range(round(dt.timestamp() * 1000), line)


def _time(value: Any, tz: ZoneInfo | None, line: int) -> int:
    """A TOML/CSV time cell: datetime, ISO text with offset, or epoch-ms digits."""
    if isinstance(value, datetime):
        return _dt_to_ms(value, tz, line, value.isoformat())
    if isinstance(value, date):
        raise CalendarError(line, f"time {value.isoformat()!r} is a date without a time of day")
    if isinstance(value, bool) or value is None:
        raise CalendarError(line, "time is missing")
    if isinstance(value, int):
        return _check_range(value, line)
    if not isinstance(value, str):
        raise CalendarError(line, f"time must be text or a datetime, not {type(value).__name__}")
    s = value.strip()
    if not s:
        raise CalendarError(line, "time is empty")
    if s.isdigit():
        return _check_range(int(s), line)
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise CalendarError(
            line, f"time {s!r} is not ISO-8601 (like 2026-01-13T13:30:00Z)"
        ) from None
    if len(s) <= 10 and "T" not in s.upper() and " " not in s:
        raise CalendarError(line, f"time {s!r} is a date without a time of day")
    return _dt_to_ms(dt, tz, line, s)


def _text(value: Any, what: str, line: int, *, required: bool) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise CalendarError(line, f"{what} is missing")
        return None
    if not isinstance(value, str):
        raise CalendarError(line, f"{what} must be text, not {type(value).__name__}")
    return value.strip()


# -------------------------------------------------------------------------------------- TOML
_TOML_HEADER = re.compile(r"^\s*\[\[\s*(events?)\s*\]\]")


def _parse_toml(text: str) -> list[CalendarEvent]:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"at line (\d+)", str(exc))
        raise CalendarError(int(m.group(1)) if m else 0, f"not valid TOML: {exc}") from None
    lines = text.splitlines()
    keys = [k for k in ("events", "event") if k in doc]
    if not keys:
        raise CalendarError(0, "no [[events]] tables in the TOML calendar")
    if len(keys) > 1:
        raise CalendarError(0, "use either [[events]] or [[event]], not both")
    key = keys[0]
    table = doc[key]
    if not isinstance(table, list):
        raise CalendarError(
            _first_line(lines, rf"^\s*{key}\s*="), f"{key} must be an array of tables ([[{key}]])"
        )
    headers = [
        i + 1 for i, ln in enumerate(lines) if (m := _TOML_HEADER.match(ln)) and m.group(1) == key
    ]
    default_tz = None
    if "tz" in doc:
        tz_line = _first_line(lines, r"^\s*tz\s*=")
        default_tz = _zone(_text(doc["tz"], "tz", tz_line, required=True) or "", tz_line)
    events = []
    for i, item in enumerate(table):
        start = headers[i] if i < len(headers) else 0
        end = headers[i + 1] if i + 1 < len(headers) else len(lines) + 1
        events.append(_toml_event(item, lines, start, end, default_tz))
    return events


def _first_line(lines: list[str], pattern: str, start: int = 1, end: int | None = None) -> int:
    rx = re.compile(pattern)
    stop = len(lines) if end is None else min(end - 1, len(lines))
    for n in range(max(start, 1), stop + 1):
        if rx.match(lines[n - 1]):
            return n
    return start


def _toml_event(
    item: Any, lines: list[str], start: int, end: int, tz: ZoneInfo | None
) -> CalendarEvent:
    if not isinstance(item, dict):
        raise CalendarError(start, "each event must be a table")
    allowed = {"title", "time", "impact", "currency", "id", "tz"}
    for k in item:
        if k not in allowed:
            line = _first_line(lines, rf"^\s*{re.escape(k)}\s*=", start, end)
            raise CalendarError(line, f"unknown key {k!r} (allowed: {', '.join(sorted(allowed))})")

    def at(k: str) -> int:
        return _first_line(lines, rf"^\s*{k}\s*=", start, end)

    if "tz" in item:
        tz = _zone(_text(item["tz"], "tz", at("tz"), required=True) or "", at("tz"))
    if "time" not in item:
        raise CalendarError(start, "event has no time")
    if "title" not in item:
        raise CalendarError(start, "event has no title")
    return CalendarEvent(
        title=_text(item["title"], "title", at("title"), required=True) or "",
        time_ms=_time(item["time"], tz, at("time")),
        impact=_impact(item.get("impact"), at("impact")),
        currency=_text(item.get("currency"), "currency", at("currency"), required=False),
        uid=_text(item.get("id"), "id", at("id"), required=False),
        line=start,
    )


# --------------------------------------------------------------------------------------- CSV
_CSV_ALIASES = {
    "time": "time", "datetime": "time", "timestamp": "time", "date_time": "time",
    "title": "title", "event": "title", "name": "title", "summary": "title",
    "impact": "impact", "currency": "currency", "country": "currency",
    "id": "id", "uid": "id", "tz": "tz", "timezone": "tz",
}  # fmt: skip


def _parse_csv(text: str) -> list[CalendarEvent]:
    reader = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    events: list[CalendarEvent] = []
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise CalendarError(reader.line_num, f"bad CSV: {exc}") from None
        line = reader.line_num
        if not row or all(not c.strip() for c in row) or row[0].lstrip().startswith("#"):
            continue
        if header is None:
            header = _csv_header(row, line)
            continue
        if len(row) != len(header):
            raise CalendarError(
                line, f"expected {len(header)} fields like the header, got {len(row)}"
            )
        cells = dict(zip(header, row, strict=True))
        tz = _zone(cells["tz"], line) if cells.get("tz", "").strip() else None
        events.append(
            CalendarEvent(
                title=_text(cells["title"], "title", line, required=True) or "",
                time_ms=_time(cells["time"], tz, line),
                impact=_impact(cells.get("impact"), line),
                currency=_text(cells.get("currency"), "currency", line, required=False),
                uid=_text(cells.get("id"), "id", line, required=False),
                line=line,
            )
        )
    if header is None:
        raise CalendarError(
            0, "the CSV calendar is empty (expected a header: time,title,impact,currency)"
        )
    return events


def _csv_header(row: list[str], line: int) -> list[str]:
    names = []
    for cell in row:
        key = cell.strip().lower().replace(" ", "_").replace("-", "_")
        if key not in _CSV_ALIASES:
            raise CalendarError(
                line,
                f"unknown column {cell.strip()!r} (expected time, title, impact, currency, id, tz)",
            )
        names.append(_CSV_ALIASES[key])
    for need in ("time", "title"):
        if need not in names:
            raise CalendarError(line, f"the header has no {need!r} column")
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise CalendarError(line, f"column {min(dup)!r} appears twice")
    return names


# ---------------------------------------------------------------------------------- iCalendar
_ICS_DT = re.compile(r"^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(Z?)$")


@dataclass(slots=True)
class _Prop:
    name: str
    params: dict[str, str]
    value: str
    line: int


def _unfold(text: str) -> Iterator[tuple[int, str]]:
    """Logical lines with the number of the physical line they start on (RFC 5545 folding)."""
    current: str | None = None
    start = 0
    for n, raw in enumerate(text.splitlines(), start=1):
        if raw[:1] in (" ", "\t") and current is not None:
            current += raw[1:]
            continue
        if current is not None:
            yield start, current
        current, start = raw, n
    if current is not None:
        yield start, current


def _split_prop(line: int, logical: str) -> _Prop:
    # NAME;PARAM=VAL;PARAM="quoted:val":VALUE — the first colon outside quotes ends the params.
    in_quotes = False
    for i, ch in enumerate(logical):
        if ch == '"':
            in_quotes = not in_quotes
        elif ch == ":" and not in_quotes:
            head, value = logical[:i], logical[i + 1 :]
            break
    else:
        raise CalendarError(line, f"not an iCalendar property (no ':'): {logical[:60]!r}")
    parts = head.split(";")
    params = {}
    for p in parts[1:]:
        if "=" not in p:
            raise CalendarError(line, f"bad parameter {p!r} in {parts[0]}")
        k, v = p.split("=", 1)
        params[k.strip().upper()] = v.strip().strip('"')
    return _Prop(parts[0].strip().upper(), params, value, line)


def _ics_unescape(value: str) -> str:
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def _parse_ics(text: str) -> list[CalendarEvent]:
    stack: list[tuple[str, int]] = []
    seen_calendar = False
    events: list[CalendarEvent] = []
    props: list[_Prop] | None = None
    for line, logical in _unfold(text):
        if not logical.strip():
            continue
        prop = _split_prop(line, logical)
        if prop.name == "BEGIN":
            comp = prop.value.strip().upper()
            if not stack and comp != "VCALENDAR":
                raise CalendarError(line, f"expected BEGIN:VCALENDAR first, got BEGIN:{comp}")
            if comp == "VCALENDAR":
                if stack:
                    raise CalendarError(line, "VCALENDAR inside another component")
                seen_calendar = True
            if comp == "VEVENT" and stack[-1][0] == "VCALENDAR":
                props = []
            stack.append((comp, line))
            continue
        if prop.name == "END":
            comp = prop.value.strip().upper()
            if not stack or stack[-1][0] != comp:
                opened = stack[-1] if stack else None
                expected = (
                    f"END:{opened[0]} for the BEGIN on line {opened[1]}" if opened else "nothing"
                )
                raise CalendarError(
                    line, f"END:{comp} does not close anything open (expected {expected})"
                )
            _, begun = stack.pop()
            if (
                comp == "VEVENT"
                and props is not None
                and (not stack or stack[-1][0] == "VCALENDAR")
            ):
                events.append(_ics_event(props, begun))
                props = None
            continue
        if not stack:
            raise CalendarError(line, f"{prop.name} outside BEGIN:VCALENDAR … END:VCALENDAR")
        if stack[-1][0] == "VEVENT" and props is not None:
            props.append(prop)
    if not seen_calendar:
        raise CalendarError(0, "no BEGIN:VCALENDAR: not an iCalendar file")
    if stack:
        comp, begun = stack[-1]
        raise CalendarError(begun, f"BEGIN:{comp} is never closed (missing END:{comp})")
    return events


def _ics_event(props: list[_Prop], begun: int) -> CalendarEvent:
    by_name: dict[str, _Prop] = {}
    for p in props:
        if p.name in ("RRULE", "RDATE"):
            raise CalendarError(
                p.line, f"recurring events ({p.name}) are not supported; list each occurrence"
            )
        by_name.setdefault(p.name, p)
    dtstart = by_name.get("DTSTART")
    if dtstart is None:
        raise CalendarError(begun, "VEVENT has no DTSTART")
    summary = by_name.get("SUMMARY")
    if summary is None or not summary.value.strip():
        raise CalendarError(
            begun if summary is None else summary.line, "VEVENT has no SUMMARY (title)"
        )
    uid = by_name.get("UID")
    currency = by_name.get("X-CURRENCY")
    return CalendarEvent(
        title=_ics_unescape(summary.value).strip(),
        time_ms=_ics_time(dtstart),
        impact=_ics_impact(by_name),
        currency=currency.value.strip() or None if currency else None,
        uid=_ics_unescape(uid.value).strip() or None if uid else None,
        line=begun,
    )


def _ics_time(p: _Prop) -> int:
    if p.params.get("VALUE", "").upper() == "DATE" or re.fullmatch(r"\d{8}", p.value.strip()):
        raise CalendarError(
            p.line, "all-day event (DTSTART is a date): a news block needs a time of day"
        )
    m = _ICS_DT.match(p.value.strip())
    if not m:
        raise CalendarError(p.line, f"DTSTART {p.value.strip()!r} is not YYYYMMDDTHHMMSS[Z]")
    y, mo, d, h, mi, s, z = m.groups()
    try:
        dt = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s))
    except ValueError as exc:
        raise CalendarError(p.line, f"DTSTART {p.value.strip()!r}: {exc}") from None
    if z:
        if "TZID" in p.params:
            raise CalendarError(p.line, "DTSTART has both TZID and a trailing Z")
        return _dt_to_ms(dt.replace(tzinfo=UTC), None, p.line, p.value)
    if "TZID" not in p.params:
        raise CalendarError(
            p.line, f"DTSTART {p.value.strip()!r} is a floating time: add Z (UTC) or TZID="
        )
    return _dt_to_ms(dt, _zone(p.params["TZID"], p.line), p.line, p.value)


def _ics_impact(by_name: dict[str, _Prop]) -> Impact:
    explicit = by_name.get("X-IMPACT")
    if explicit is not None:
        return _impact(explicit.value, explicit.line)
    cats = by_name.get("CATEGORIES")
    if cats is not None:
        for cat in _ics_unescape(cats.value.replace("\\,", "\x00")).split(","):
            name = cat.replace("\x00", ",").strip().upper().removesuffix(" IMPACT")
            if name in Impact.__members__:
                return Impact(name)
    prio = by_name.get("PRIORITY")
    if prio is not None and prio.value.strip() not in ("", "0"):
        try:
            n = int(prio.value.strip())
        except ValueError:
            raise CalendarError(
                prio.line, f"PRIORITY must be 0-9, not {prio.value.strip()!r}"
            ) from None
        if not 1 <= n <= 9:
            raise CalendarError(prio.line, f"PRIORITY must be 0-9, not {n}")
        return Impact.HIGH if n <= 4 else Impact.MEDIUM if n == 5 else Impact.LOW
    return Impact.HIGH
