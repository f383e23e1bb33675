"""The CometBFT event query language (`tx_search`, `block_search`, subscriptions).

    transfer.recipient='sultan1…' AND tx.height>=5 AND message.action EXISTS

Conditions are joined by AND; operators =, <, <=, >, >=, CONTAINS, EXISTS; operands are
'quoted strings', numbers, `DATE yyyy-mm-dd` or `TIME <RFC3339>`.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal

import attrs

MAX_QUERY_LENGTH = 512

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<and>AND)\b
    | (?P<op><=|>=|=|<|>|CONTAINS\b|EXISTS\b)
    | '(?P<str>[^']*)'
    | (?P<kw>DATE|TIME)\s+(?P<date>[0-9T:.\-+Z]+)
    | (?P<num>-?[0-9]+(?:\.[0-9]+)?)(?![\w.])
    | (?P<key>[A-Za-z_][\w.\-/]*)
    )""",
    re.VERBOSE,
)


class QuerySyntaxError(ValueError):
    pass


@attrs.frozen
class Condition:
    key: str
    op: str
    operand: str | Decimal | None  # None for EXISTS

    def matches(self, values: Sequence[str]) -> bool:
        if self.op == "EXISTS":
            return bool(values)
        for value in values:
            if self.op == "CONTAINS":
                if isinstance(self.operand, str) and self.operand in value:
                    return True
                continue
            if isinstance(self.operand, Decimal):
                number = _number(value)
                if number is None:
                    continue
                if _compare(number, self.op, self.operand):
                    return True
            elif self.op == "=" and value == self.operand:
                return True
            elif (
                self.op != "="
                and isinstance(self.operand, str)
                and _compare(value, self.op, self.operand)
            ):
                return True
        return False


_LEADING_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:Z|[+-][0-9]{2}:[0-9]{2})"
)


def _number(text: str) -> Decimal | None:
    # Values compare by their leading number, as CometBFT does: "100usultan" is 100. Only
    # that prefix is read (never Decimal(text): it accepts "NaN", "1e5", "1_000", " 5").
    match = _LEADING_NUMBER.match(text)
    return Decimal(match.group(0)) if match else None


def _check_date_or_time(kw: str, text: str) -> None:
    try:
        if kw == "DATE" and _DATE.fullmatch(text):
            datetime.date.fromisoformat(text)
            return
        if kw == "TIME" and _TIME.fullmatch(text):
            datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
            return
    except ValueError:
        pass
    expected = "yyyy-mm-dd" if kw == "DATE" else "an RFC 3339 time like 2006-01-02T15:04:05Z"
    raise QuerySyntaxError(f"invalid {kw} {text!r}: expected {expected}")


def _compare(a: object, op: str, b: object) -> bool:
    if op == "=":
        return a == b
    if op == "<":
        return a < b  # type: ignore[operator]
    if op == "<=":
        return a <= b  # type: ignore[operator]
    if op == ">":
        return a > b  # type: ignore[operator]
    if op == ">=":
        return a >= b  # type: ignore[operator]
    raise QuerySyntaxError(f"unsupported operator {op}")


def parse_query(text: str) -> list[Condition]:
    if len(text) > MAX_QUERY_LENGTH:
        raise QuerySyntaxError(f"query longer than {MAX_QUERY_LENGTH} characters")
    pos, tokens = 0, []
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise QuerySyntaxError(f"unexpected input at position {pos}: {text[pos : pos + 20]!r}")
        pos = m.end()
        tokens.append(m)
    if not tokens:
        raise QuerySyntaxError("empty query")
    conditions: list[Condition] = []
    i = 0
    while i < len(tokens):
        key_tok = tokens[i]
        if key_tok.group("key") is None:
            raise QuerySyntaxError("expected an event key such as transfer.recipient")
        if i + 1 >= len(tokens) or tokens[i + 1].group("op") is None:
            raise QuerySyntaxError(f"expected an operator after {key_tok.group('key')}")
        op = tokens[i + 1].group("op")
        if op == "EXISTS":
            conditions.append(Condition(key_tok.group("key"), op, None))
            i += 2
        else:
            if i + 2 >= len(tokens):
                raise QuerySyntaxError(f"expected an operand after {key_tok.group('key')} {op}")
            val = tokens[i + 2]
            operand: str | Decimal
            if val.group("str") is not None:
                operand = val.group("str")
            elif val.group("num") is not None:
                operand = Decimal(val.group("num"))
            elif val.group("date") is not None:
                _check_date_or_time(val.group("kw"), val.group("date"))
                operand = val.group("date")
            else:
                raise QuerySyntaxError(f"invalid operand for {key_tok.group('key')} {op}")
            if op == "CONTAINS" and val.group("str") is None:
                raise QuerySyntaxError("CONTAINS needs a quoted string")
            if op not in ("=", "CONTAINS") and val.group("str") is not None:
                raise QuerySyntaxError(
                    f"{key_tok.group('key')} {op} '{operand}': a quoted string supports only "
                    "= and CONTAINS (compare numbers, DATE or TIME)"
                )
            conditions.append(Condition(key_tok.group("key"), op, operand))
            i += 3
        if i < len(tokens):
            if tokens[i].group("and") is None:
                raise QuerySyntaxError("conditions must be joined with AND")
            i += 1
            if i >= len(tokens):
                raise QuerySyntaxError("dangling AND")
    return conditions


def matches_all(conditions: Sequence[Condition], attributes: Mapping[str, Sequence[str]]) -> bool:
    return all(c.matches(attributes.get(c.key, ())) for c in conditions)
