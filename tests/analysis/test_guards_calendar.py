"""Calendar parsing: the three formats, and bad files rejected with the line and the problem."""

from __future__ import annotations

import pytest

from tradeterm.analysis.guards import CalendarError, NewsGuard, calendar_format, parse_calendar
from tradeterm.analysis.guards.session import utc_ms
from tradeterm.contracts import Impact

TOML = """\
# economic calendar
tz = "America/New_York"

[[events]]
title = "US CPI"
time = 2026-01-13T08:30:00
currency = "USD"

[[events]]
title = "ECB rate decision"
time = "2026-01-22T13:15:00Z"
impact = "Medium"
currency = "EUR"
id = "ecb-2026-01"

[[events]]
title = "BoE"
time = 2026-02-05T12:00:00+00:00
tz = "Europe/London"
"""

CSV = """\
time,title,impact,currency,id
2026-01-13T13:30:00Z,US CPI,high,USD,cpi-jan
# comments and blank lines are fine

1768916700000,"Retail sales, m/m",low,USD,
2026-03-08T08:30:00-04:00,NFP,HIGH,USD,nfp
"""

ICS = """\
BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//test//EN\r
BEGIN:VTIMEZONE\r
TZID:America/New_York\r
END:VTIMEZONE\r
BEGIN:VEVENT\r
UID:cpi-2026-01@example\r
DTSTART;TZID=America/New_York:20260113T083000\r
SUMMARY:US CPI\\, core and headline\r
CATEGORIES:Economy,High Impact\r
X-CURRENCY:USD\r
BEGIN:VALARM\r
TRIGGER:-PT15M\r
END:VALARM\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:fomc\r
DTSTART:20260128T190000Z\r
SUMMARY:FOMC statement and a long title that is\r
  folded onto a second line\r
PRIORITY:5\r
END:VEVENT\r
BEGIN:VEVENT\r
DTSTART:20260206T133000Z\r
SUMMARY:NFP\r
X-IMPACT:high\r
END:VEVENT\r
END:VCALENDAR\r
"""


def test_toml_calendar() -> None:
    events = parse_calendar(TOML, "toml")
    assert [(e.title, e.time_ms, e.impact, e.currency, e.uid) for e in events] == [
        ("US CPI", utc_ms(2026, 1, 13, 13, 30), Impact.HIGH, "USD", None),  # EST = UTC-5
        ("ECB rate decision", utc_ms(2026, 1, 22, 13, 15), Impact.MEDIUM, "EUR", "ecb-2026-01"),
        ("BoE", utc_ms(2026, 2, 5, 12), Impact.HIGH, None, None),
    ]
    assert [e.line for e in events] == [4, 9, 16]


def test_csv_calendar() -> None:
    events = parse_calendar(CSV, "csv")
    assert [(e.title, e.time_ms, e.impact, e.uid, e.line) for e in events] == [
        ("US CPI", utc_ms(2026, 1, 13, 13, 30), Impact.HIGH, "cpi-jan", 2),
        ("Retail sales, m/m", 1768916700000, Impact.LOW, None, 5),
        ("NFP", utc_ms(2026, 3, 8, 12, 30), Impact.HIGH, "nfp", 6),
    ]


def test_ics_calendar() -> None:
    events = parse_calendar(ICS, "ics")
    assert [(e.title, e.time_ms, e.impact, e.currency, e.uid) for e in events] == [
        (
            "US CPI, core and headline",
            utc_ms(2026, 1, 13, 13, 30),
            Impact.HIGH,
            "USD",
            "cpi-2026-01@example",
        ),
        (
            "FOMC statement and a long title that is folded onto a second line",
            utc_ms(2026, 1, 28, 19),
            Impact.MEDIUM,
            None,
            "fomc",
        ),
        ("NFP", utc_ms(2026, 2, 6, 13, 30), Impact.HIGH, None, None),
    ]
    assert [e.line for e in events] == [7, 17, 24]


def test_auto_detection_and_file_names() -> None:
    assert parse_calendar(ICS) == parse_calendar(ICS, "ics")
    assert parse_calendar(TOML) == parse_calendar(TOML, "toml")
    assert parse_calendar(CSV) == parse_calendar(CSV, "csv")
    assert parse_calendar("\ufeff" + CSV, "csv") == parse_calendar(CSV, "csv")
    assert [calendar_format(n) for n in ("a.TOML", "b.csv", "c.ics", "d.ical", "e.txt")] == [
        "toml", "csv", "ics", "ics", "auto",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="format must be one of"):
        parse_calendar(CSV, "xlsx")


def test_windows_from_a_parsed_calendar() -> None:
    windows = NewsGuard().windows(parse_calendar(ICS, "ics"))
    assert [w.title for w in windows] == ["US CPI, core and headline", "NFP"]  # MEDIUM is dropped
    assert windows[0].event_id == "cpi-2026-01@example"
    assert windows[1].event_id == f"{utc_ms(2026, 2, 6, 13, 30)}:NFP"


BAD = [
    ("toml", '[[events]]\ntitle = "CPI"\ntime = 2026-01-13T08:30:00\n', 3, "no UTC offset"),
    ("toml", '[[events]]\ntitle = "CPI"\ntime = 1768311000000\n\n[[events]]\ntime = "2026-01-13T13:30Z"\n', 5, "no title"),
    ("toml", '[[events]]\ntitle = "CPI"\ntime = "2026-01-13T13:30Z"\nimpact = "huge"\n', 4, "impact must be high, medium or low"),
    ("toml", '[[events]]\ntitle = "CPI"\ntime = "13:30"\n', 3, "not ISO-8601"),
    ("toml", '[[events]]\ntitle = "CPI"\ntime = 2026-01-13\n', 3, "date without a time"),
    ("toml", '[[events]]\ntitle = "CPI"\nwhen = "x"\ntime = 1\n', 3, "unknown key 'when'"),
    ("toml", '[[events]]\ntitle = "CPI"\ntime = 1768311000\n', 3, "outside 2000..2200"),
    ("toml", '[[events]]\ntitle = "CPI"\ntime = "2026-01-13T13:30"\ntz = "Mars/Base"\n', 4, "unknown time zone"),
    ("toml", '[[events]]\ntitle = "CPI\ntime = 1\n', 2, "not valid TOML"),
    ("toml", 'title = "CPI"\n', 0, "no [[events]]"),
    ("csv", "time,title\n2026-01-13T13:30:00,CPI\n", 2, "no UTC offset"),
    ("csv", "time,title\n2026-01-13T13:30:00Z,CPI\n2026-01-14T13:30:00Z\n", 3, "expected 2 fields"),
    ("csv", "when,title\n", 1, "unknown column 'when'"),
    ("csv", "time,impact\n", 1, "no 'title' column"),
    ("csv", "time,title,impact\n2026-01-13T13:30:00Z,CPI,red\n", 2, "impact must be"),
    ("csv", "time,title\n2026-01-13T13:30:00Z,\n", 2, "title is missing"),
    ("csv", "", 0, "empty"),
    ("ics", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20260113T133000\nSUMMARY:CPI\nEND:VEVENT\nEND:VCALENDAR\n", 3, "floating time"),
    ("ics", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20260113\nSUMMARY:CPI\nEND:VEVENT\nEND:VCALENDAR\n", 3, "all-day"),
    ("ics", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:CPI\nEND:VEVENT\nEND:VCALENDAR\n", 2, "no DTSTART"),
    ("ics", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20260113T133000Z\nEND:VEVENT\nEND:VCALENDAR\n", 2, "no SUMMARY"),
    ("ics", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20260113T133000Z\nSUMMARY:CPI\nEND:VCALENDAR\n", 5, "END:VCALENDAR does not close"),
    ("ics", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20260113T133000Z\nSUMMARY:CPI\nEND:VEVENT\n", 1, "never closed"),
    ("ics", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20260113T133000Z\nSUMMARY:CPI\nRRULE:FREQ=MONTHLY\nEND:VEVENT\nEND:VCALENDAR\n", 5, "recurring"),
    ("ics", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;TZID=Nowhere/City:20260113T083000\nSUMMARY:CPI\nEND:VEVENT\nEND:VCALENDAR\n", 3, "unknown time zone"),
    ("ics", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20261313T083000Z\nSUMMARY:CPI\nEND:VEVENT\nEND:VCALENDAR\n", 3, "month must be"),
    ("ics", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20260113T133000Z\nSUMMARY:CPI\nPRIORITY:high\nEND:VEVENT\nEND:VCALENDAR\n", 5, "PRIORITY must be"),
    ("ics", "BEGIN:VCALENDAR\nthis line has no colon\nEND:VCALENDAR\n", 2, "no ':'"),
    ("ics", "BEGIN:VEVENT\nEND:VEVENT\n", 1, "expected BEGIN:VCALENDAR"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("fmt", "text", "line", "words"), BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)]
)
def test_bad_calendars_name_line_and_problem(fmt: str, text: str, line: int, words: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_calendar(text, fmt)
    err = info.value
    assert isinstance(err, CalendarError)
    assert err.line == line, str(err)
    assert words in str(err)
    if line:
        assert str(err).startswith(f"line {line}: ")
