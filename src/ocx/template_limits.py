"""What one message may cost (Limits), and the cooperative checks that hold a template to it
in any thread: a deadline looked at on every loop pass, call, filter and operator, and
estimates that refuse an operation before it builds text over the byte cap. The sandbox
that makes those checks, and the SIGALRM backstop, are ocx.templates'."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

DEFAULT_TIMEOUT = 2.0  # seconds one message may take to render (ocx.toml template_timeout)
DEFAULT_MAX_BYTES = 65536  # UTF-8 bytes one message may have (ocx.toml template_max_bytes)
_EVERY = 256  # loop passes between two looks at the clock


@dataclass(frozen=True)
class Limits:
    """What one message may cost: `timeout` seconds to render, `max_bytes` of text."""

    timeout: float = DEFAULT_TIMEOUT
    max_bytes: int = DEFAULT_MAX_BYTES


class Stop(BaseException):
    """A limit was hit: `what` is "time" or "bytes". A BaseException, so that nothing the
    template runs (a filter's `except Exception`) can swallow it."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


class Budget:
    """The limits of the message being rendered now: a deadline and a byte cap."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.deadline = float("inf")

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            raise Stop("time")

    def fits(self, size: int) -> None:
        """Refuse a value (about to be) `size` characters long: over the cap."""
        if size > self.max_bytes:
            raise Stop("bytes")

    def result(self, value: Any) -> Any:
        """A value a call, filter or operator produced, checked: text by its length, lists
        by the text they hold, lazy sequences item by item as they are read."""
        if isinstance(value, str | bytes):
            self.fits(len(value))
        elif isinstance(value, list | tuple):
            self.fits(_text_size(value, self.max_bytes))
        elif isinstance(value, Iterator):
            return self.guard(value, weigh=True)
        return value

    def guard(self, iterable: Iterable[Any], *, weigh: bool = False) -> Iterable[Any]:
        """Iterate, looking at the clock now and every `_EVERY` items, and with `weigh`
        adding up the text the items hold. A short list, range or string is handed back
        as it is: looking once is enough (a loop started inside another one looks again)."""
        self.check()
        if not weigh and isinstance(iterable, _SHORT) and len(iterable) <= _EVERY:
            return iterable
        return self._guarded(iterable, weigh)

    def _guarded(self, iterable: Iterable[Any], weigh: bool) -> Iterator[Any]:
        size = 0
        for count, item in enumerate(iterable, 1):
            if count % _EVERY == 0:
                self.check()
            if weigh:
                size += _text_size(item, self.max_bytes)
                self.fits(size)
            yield item


_SHORT = (list, tuple, range, str, dict, set, frozenset)
CHECKED = (str, bytes, list, tuple, Iterator)  # what `Budget.result` looks at


def _text_size(value: Any, cap: int, depth: int = 0) -> int:
    """Characters of text in a value and the lists it holds (stops counting past `cap`)."""
    if isinstance(value, str | bytes):
        return len(value)
    if depth > 3 or not isinstance(value, list | tuple | dict | set | frozenset):
        return 0
    size = 0
    items = value.items() if isinstance(value, dict) else value
    for item in items:
        size += _text_size(item, cap, depth + 1)
        if size > cap:
            break
    return size


# --- estimates made before an operation that multiplies text ---------------------------------

_PRINTF = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(\*|\d+)?(?:\.(\*|\d+))?")


def _numbers(values: Iterable[Any]) -> Iterator[int]:
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool):
            yield abs(value)


def _printf_fits(budget: Budget, text: Any, args: Any) -> None:
    """`text % args` (the operator and the `format` filter): no width or precision over the
    cap, written in or given by `*`."""
    if not isinstance(text, str):
        return
    stars = False
    for match in _PRINTF.finditer(text):
        for part in match.groups():
            if part == "*":
                stars = True
            elif part:
                budget.fits(int(part) if len(part) < 20 else budget.max_bytes + 1)
    if stars:
        given = args if isinstance(args, tuple) else (args,)
        for number in _numbers(given):
            budget.fits(number)


def _format_fits(budget: Budget, text: str, args: Sequence[Any], kwargs: Mapping[str, Any]
                 ) -> None:  # fmt: skip
    """`text.format(...)`: no width or precision in a format spec over the cap; a spec that
    takes a field (`{:{0}}`) cannot take a number over the cap either."""
    from string import Formatter

    try:
        fields = list(Formatter().parse(text))
    except ValueError:
        return  # str.format raises the same error itself
    for _, _, spec, _ in fields:
        if not spec:
            continue
        for digits in re.findall(r"\d+", spec):
            budget.fits(int(digits) if len(digits) < 20 else budget.max_bytes + 1)
        if "{" in spec:
            for number in _numbers([*args, *kwargs.values()]):
                budget.fits(number)


def _replace_size(text: str | bytes, old: Any, new: Any, count: Any) -> int:
    if not isinstance(old, str | bytes) or not isinstance(new, str | bytes):
        return len(text)
    found = len(text) + 1 if not old else text.count(old)  # type: ignore[arg-type]
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(text) + found * max(len(new) - len(old), 0)


def _join_parts(budget: Budget, separator: Any, iterable: Any) -> list[Any]:
    """The parts of a join, read one by one against the cap (separators counted)."""
    parts = []
    size = 0
    sep = len(separator) if isinstance(separator, str | bytes) else 0
    for item in budget.guard(iterable):
        size += (len(item) if isinstance(item, str | bytes) else 16) + (sep if parts else 0)
        budget.fits(size)
        parts.append(item)
    return parts


def check_method(budget: Budget, func: Any, args: tuple[Any, ...],
                  kwargs: dict[str, Any]) -> tuple[Any, ...]:  # fmt: skip
    """Refuse a str/bytes method call that would build text over the cap; returns the
    arguments to call with (a join's parts, already read)."""
    wrapped = getattr(func, "__wrapped__", None)  # the sandbox's str.format wrapper
    if wrapped is not None and getattr(wrapped, "__name__", "") in ("format", "format_map"):
        text = getattr(wrapped, "__self__", None)
        if isinstance(text, str):
            mapping = args[0] if wrapped.__name__ == "format_map" and args else kwargs
            _format_fits(budget, text, args, mapping if isinstance(mapping, Mapping) else {})
        return args
    if getattr(func, "__name__", "") == "generate_lorem_ipsum":  # the `lipsum` global
        paragraphs = _first(args, kwargs, "n", 5)
        words = args[3] if len(args) > 3 else kwargs.get("max", 100)
        if _is_int(paragraphs) and _is_int(words):
            budget.fits(max(paragraphs, 0) * max(words, 0) * 12)  # 12: a long word and a space
        return args
    text = getattr(func, "__self__", None)
    if not isinstance(text, str | bytes):
        return args
    name = getattr(func, "__name__", "")
    if name in ("center", "ljust", "rjust", "zfill"):
        for number in _numbers([*args[:1], kwargs.get("width")]):
            budget.fits(number)
    elif name == "expandtabs":
        size = _first(args, kwargs, "tabsize", 8)
        if isinstance(size, int):
            budget.fits(len(text) + text.count("\t" if isinstance(text, str) else b"\t") * size)
    elif name == "replace" and len(args) >= 2:
        budget.fits(_replace_size(text, args[0], args[1], _first(args[2:], kwargs, "count", -1)))
    elif name == "join" and args:
        return (_join_parts(budget, text, args[0]), *args[1:])
    elif name == "translate" and args and isinstance(args[0], Mapping):
        longest = max((len(v) for v in args[0].values() if isinstance(v, str | bytes)), default=1)
        budget.fits(len(text) * max(longest, 1))
    return args


def _first(args: Sequence[Any], kwargs: Mapping[str, Any], name: str, default: Any) -> Any:
    return args[0] if args else kwargs.get(name, default)


def check_filter(budget: Budget, name: str, args: list[Any], kwargs: dict[str, Any]) -> None:
    """Refuse a built-in filter call that would build text over the cap; `args` starts with
    the value filtered (a join's value is replaced by its parts, already read)."""
    value, rest = args[0], args[1:]
    if name in ("center", "batch", "slice"):
        key = {"center": "width", "batch": "linecount", "slice": "slices"}[name]
        for number in _numbers([_first(rest, kwargs, key, 0)]):
            budget.fits(number)
    elif name == "indent":
        width = _first(rest, kwargs, "width", 4)
        lines = str(value).count("\n") + 1
        pad = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
        budget.fits(len(str(value)) + lines * pad)
    elif name == "wordwrap":
        text = str(value)
        width = _first(rest, kwargs, "width", 79)
        wrap = rest[2] if len(rest) > 2 else kwargs.get("wrapstring")
        if isinstance(wrap, str) and isinstance(width, int):
            lines = len(text) // max(width, 1) + text.count("\n") + 1
            budget.fits(len(text) + lines * len(wrap))
    elif name == "format":
        _printf_fits(budget, value, tuple(rest) or tuple(kwargs.values()))
    elif name == "replace" and len(rest) >= 2:
        text = str(value)
        budget.fits(_replace_size(text, rest[0], rest[1], _first(rest[2:], kwargs, "count", -1)))
    elif name == "join" and not (len(rest) > 1 or "attribute" in kwargs):
        separator = _first(rest, kwargs, "d", "")
        args[0] = _join_parts(budget, separator, value)
    elif name == "tojson":
        indent = _first(rest, kwargs, "indent", None)
        if isinstance(indent, int):
            budget.fits((indent + 1) * max(_count(value, budget.max_bytes), 1))


def _count(value: Any, cap: int, depth: int = 0) -> int:
    """Items in a value and the lists and dicts it holds (a JSON dump's lines)."""
    if depth > 8 or not isinstance(value, list | tuple | dict):
        return 1
    total = 0
    for item in value.values() if isinstance(value, dict) else value:
        total += _count(item, cap, depth + 1)
        if total > cap:
            break
    return total


def check_binop(budget: Budget, operator: str, left: Any, right: Any) -> None:
    """Refuse `*`, `**`, `+` and `%` whose result would be over the cap: repeated text,
    huge powers, long concatenations, wide printf fields."""
    bits = budget.max_bytes * 8
    if operator == "*":
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, str | bytes | list | tuple) and isinstance(times, int):
                times = max(times, 0)
                budget.fits(len(seq) * times)
                if isinstance(seq, list | tuple):
                    budget.fits(_text_size(seq, budget.max_bytes) * times)
        if _is_int(left) and _is_int(right):
            budget.fits((left.bit_length() + right.bit_length()) // 8)
    elif operator == "**":
        if _is_int(left) and _is_int(right) and right > 0 and abs(left) > 1:
            budget.fits(left.bit_length() * right // 8 if right < bits else bits)
    elif operator == "+":
        if isinstance(left, str | bytes | list | tuple) and isinstance(right, type(left)):
            budget.fits(len(left) + len(right))
            if isinstance(left, list | tuple):
                budget.fits(_text_size(left, budget.max_bytes)
                            + _text_size(right, budget.max_bytes))  # fmt: skip
    elif operator == "%":
        _printf_fits(budget, left, right)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
