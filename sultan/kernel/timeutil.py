"""Integer-only time helpers: RFC3339Nano timestamps and Go-style durations.

Consensus data (genesis time, block times) must be exact and identical on every node, so
times are integer nanoseconds since the Unix epoch (UTC) and never go through floats or the
local time zone. The text forms match Go's, because CometBFT writes and reads them:
`time.RFC3339Nano` ("2026-11-27T10:00:00.123456789Z", trailing fraction zeros trimmed)
and `time.Duration.String()` / `time.ParseDuration` ("1m30s", "500ms", "168h0m0s").
"""

from __future__ import annotations

import re
import time

NS_PER_US = 1_000
NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000
NS_PER_DAY = 86_400 * NS_PER_S

# 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999999Z: the range RFC3339 can spell.
MIN_TIME_NS = -62_135_596_800 * NS_PER_S
MAX_TIME_NS = 253_402_300_800 * NS_PER_S - 1

_RFC3339_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)


def now_ns() -> int:
    """Wall-clock time in integer nanoseconds (for genesis creation, never for state)."""
    return time.time_ns()


def _days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _civil_from_days(z: int) -> tuple[int, int, int]:
    """Inverse of `_days_from_civil`."""
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return yoe + era * 400 + (m <= 2), m, d


def _days_in_month(y: int, m: int) -> int:
    if m == 2:
        leap = y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
        return 29 if leap else 28
    return 30 if m in (4, 6, 9, 11) else 31


def format_rfc3339_nano(ns: int) -> str:
    """Format UTC nanoseconds like Go's `t.UTC().Format(time.RFC3339Nano)`."""
    if not isinstance(ns, int) or isinstance(ns, bool):
        raise TypeError(f"timestamp must be int nanoseconds, got {type(ns).__name__}")
    if not MIN_TIME_NS <= ns <= MAX_TIME_NS:
        raise ValueError(f"timestamp {ns} ns is outside years 0001..9999")
    days, rem = divmod(ns, NS_PER_DAY)
    secs, frac = divmod(rem, NS_PER_S)
    y, mo, d = _civil_from_days(days)
    hh, rest = divmod(secs, 3600)
    mi, ss = divmod(rest, 60)
    text = f"{y:04d}-{mo:02d}-{d:02d}T{hh:02d}:{mi:02d}:{ss:02d}"
    if frac:
        text += "." + f"{frac:09d}".rstrip("0")
    return text + "Z"


def parse_rfc3339_nano(text: str) -> int:
    """Parse an RFC3339 timestamp (any 1-9 digit fraction, Z or ±hh:mm) to UTC nanoseconds."""
    if not isinstance(text, str):
        raise ValueError(f"timestamp must be a string, got {type(text).__name__}")
    m = _RFC3339_RE.fullmatch(text)
    if m is None:
        raise ValueError(f"invalid RFC3339 timestamp {text!r} (expected e.g. 2026-11-27T10:00:00Z)")
    y, mo, d, hh, mi, ss = (int(m.group(i)) for i in range(1, 7))
    if not 1 <= mo <= 12 or not 1 <= d <= _days_in_month(y, mo):
        raise ValueError(f"invalid date in timestamp {text!r}")
    if hh > 23 or mi > 59 or ss > 59:
        raise ValueError(f"invalid time of day in timestamp {text!r}")
    frac = int((m.group(7) or "0").ljust(9, "0"))
    offset_s = 0
    if m.group(9):
        oh, om = int(m.group(10)), int(m.group(11))
        if oh > 23 or om > 59:
            raise ValueError(f"invalid UTC offset in timestamp {text!r}")
        offset_s = (oh * 3600 + om * 60) * (1 if m.group(9) == "+" else -1)
    secs = _days_from_civil(y, mo, d) * 86_400 + hh * 3600 + mi * 60 + ss - offset_s
    ns = secs * NS_PER_S + frac
    if not MIN_TIME_NS <= ns <= MAX_TIME_NS:
        raise ValueError(f"timestamp {text!r} is outside years 0001..9999 in UTC")
    return ns


# --- Go durations --------------------------------------------------------------------------

_UNIT_NS = {
    "ns": 1,
    "us": NS_PER_US,
    "\u00b5s": NS_PER_US,  # micro sign
    "\u03bcs": NS_PER_US,  # Greek mu
    "ms": NS_PER_MS,
    "s": NS_PER_S,
    "m": 60 * NS_PER_S,
    "h": 3600 * NS_PER_S,
}
_DURATION_PART_RE = re.compile(r"(\d*)(?:\.(\d*))?(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")
MAX_DURATION_NS = 2**63 - 1  # Go's time.Duration is an int64 of nanoseconds


def parse_duration_ns(text: str) -> int:
    """Parse a Go duration string ("1h2m3.5s", "500ms", "-1s", "0") to integer nanoseconds."""
    if not isinstance(text, str):
        raise ValueError(f'duration must be a string like "3s", got {type(text).__name__}')
    s = text.strip()
    sign = 1
    if s and s[0] in "+-":
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise ValueError(f"invalid duration {text!r}")
    total = 0
    pos = 0
    while pos < len(s):
        m = _DURATION_PART_RE.match(s, pos)
        if m is None or (not m.group(1) and not m.group(2)):
            hint = "missing unit" if s[pos:].strip("0123456789.") == "" else "bad syntax"
            raise ValueError(
                f'invalid duration {text!r} ({hint}; expected e.g. "3s", "500ms", "1m30s")'
            )
        whole, frac, unit = m.group(1) or "0", m.group(2) or "", m.group(3)
        scale = _UNIT_NS[unit]
        part = int(whole) * scale
        if frac:
            # Exact integer arithmetic; digits finer than 1ns are truncated like Go does.
            part += int(frac) * scale // 10 ** len(frac)
        total += part
        pos = m.end()
    if total > MAX_DURATION_NS:
        raise ValueError(f"invalid duration {text!r}: overflows int64 nanoseconds")
    return sign * total


def parse_duration_ms(text: str) -> int:
    """Parse a Go duration to integer milliseconds; sub-millisecond remainders are refused."""
    ns = parse_duration_ns(text)
    ms, rem = divmod(ns, NS_PER_MS)
    if rem:
        raise ValueError(f"duration {text!r} is not a whole number of milliseconds")
    return ms


def format_duration_ns(ns: int) -> str:
    """Format nanoseconds like Go's `time.Duration.String()` ("1m30s", "1.5ms", "0s")."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    u = -ns if ns < 0 else ns
    if u < NS_PER_S:
        for unit, scale in (("ms", NS_PER_MS), ("\u00b5s", NS_PER_US), ("ns", 1)):
            if u >= scale:
                return sign + _frac(u, scale) + unit
    hours, rem = divmod(u, 3600 * NS_PER_S)
    mins, rem = divmod(rem, 60 * NS_PER_S)
    text = _frac(rem, NS_PER_S) + "s"
    if hours or mins:
        text = f"{mins}m" + text
    if hours:
        text = f"{hours}h" + text
    return sign + text


def format_duration_ms(ms: int) -> str:
    """Format integer milliseconds as a Go duration string."""
    return format_duration_ns(ms * NS_PER_MS)


def _frac(value: int, scale: int) -> str:
    """`value/scale` as a decimal with trailing zeros trimmed (integer arithmetic only)."""
    whole, rem = divmod(value, scale)
    if not rem:
        return str(whole)
    width = len(str(scale)) - 1
    return f"{whole}." + f"{rem:0{width}d}".rstrip("0")
