"""Customer-facing messages from templates, rendered in Jinja2's sandbox: a template is
customer-supplied text as far as safety goes, so it cannot reach Python's internals, and it
runs under limits (time and size per message), so it cannot hang or flood the outbox.

The limits are checked cooperatively, so they hold in any thread: every loop pass, call,
filter, `~` and arithmetic operator looks at the message's deadline, and operators and
methods that multiply text (`'a' * n`, `n ** m`, `center(n)`, `replace`, `join`, widths in
`format` and `%`) are refused before they build anything over the byte limit. In the main
thread a SIGALRM timer backs the deadline up."""

from __future__ import annotations

import re
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache, wraps
from typing import Any

from ocx.errors import OcxError

_NAME = "<template>"
DEFAULT_TIMEOUT = 2.0  # seconds one message may take to render (ocx.toml template_timeout)
DEFAULT_MAX_BYTES = 65536  # UTF-8 bytes one message may have (ocx.toml template_max_bytes)
_EVERY = 256  # loop passes between two looks at the clock
_ALARM_GRACE = 0.25  # the SIGALRM backstop rings this long after the deadline


@dataclass(frozen=True)
class Limits:
    """What one message may cost: `timeout` seconds to render, `max_bytes` of text."""

    timeout: float = DEFAULT_TIMEOUT
    max_bytes: int = DEFAULT_MAX_BYTES


class _Stop(BaseException):
    """A limit was hit: `what` is "time" or "bytes". A BaseException, so that nothing the
    template runs (a filter's `except Exception`) can swallow it."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


class _Budget:
    """The limits of the message being rendered now: a deadline and a byte cap."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.deadline = float("inf")

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            raise _Stop("time")

    def fits(self, size: int) -> None:
        """Refuse a value (about to be) `size` characters long: over the cap."""
        if size > self.max_bytes:
            raise _Stop("bytes")

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
_CHECKED = (str, bytes, list, tuple, Iterator)  # what `_Budget.result` looks at


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


def _printf_fits(budget: _Budget, text: Any, args: Any) -> None:
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


def _format_fits(budget: _Budget, text: str, args: Sequence[Any], kwargs: Mapping[str, Any]
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


def _join_parts(budget: _Budget, separator: Any, iterable: Any) -> list[Any]:
    """The parts of a join, read one by one against the cap (separators counted)."""
    parts = []
    size = 0
    sep = len(separator) if isinstance(separator, str | bytes) else 0
    for item in budget.guard(iterable):
        size += (len(item) if isinstance(item, str | bytes) else 16) + (sep if parts else 0)
        budget.fits(size)
        parts.append(item)
    return parts


def _check_method(budget: _Budget, func: Any, args: tuple[Any, ...],
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


def _check_filter(budget: _Budget, name: str, args: list[Any], kwargs: dict[str, Any]) -> None:
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


def _check_binop(budget: _Budget, operator: str, left: Any, right: Any) -> None:
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


# --- the environment ----------------------------------------------------------------------


@cache
def _environment_class() -> type:
    """The sandbox with the limits built in; made on first use, so commands that never
    render a template do not import Jinja2."""
    from jinja2 import nodes
    from jinja2.compiler import CodeGenerator, Frame
    from jinja2.sandbox import ImmutableSandboxedEnvironment
    from jinja2.utils import generate_lorem_ipsum as lipsum

    class Code(CodeGenerator):
        """Jinja2's code generator, with every loop and every `~` going through the
        environment: a loop that prints nothing still looks at the clock. (Jinja2 allows
        no custom nodes, so a loop's iterable is recognised when it is visited.)"""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._loop_iterables: set[int] = set()

        def visit_For(self, node: nodes.For, frame: Frame) -> None:
            self._loop_iterables.add(id(node.iter))
            super().visit_For(node, frame)

        def visit(self, node: nodes.Node, *args: Any, **kwargs: Any) -> Any:
            if id(node) not in self._loop_iterables:
                return super().visit(node, *args, **kwargs)
            self.write("environment.ocx_loop(")
            super().visit(node, *args, **kwargs)
            self.write(")")
            return None

        def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
            self.write("environment.ocx_text(")
            super().visit_Concat(node, frame)
            self.write(")")

    class Sandbox(ImmutableSandboxedEnvironment):  # type: ignore[misc]
        code_generator_class = Code
        intercepted_binops = frozenset({"*", "**", "+", "%"})

        def __init__(self, budget: _Budget, **options: Any) -> None:
            super().__init__(**options)
            self.budget = budget
            self.filters = {name: self._guarded(name, f) for name, f in self.filters.items()}

        def _guarded(self, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
            budget = self.budget
            skip = 1 if getattr(func, "jinja_pass_arg", None) is not None else 0

            @wraps(func)  # keeps jinja_pass_arg: Jinja2 still passes the context first
            def guarded(*args: Any, **kwargs: Any) -> Any:
                budget.check()
                if len(args) > skip:
                    values = list(args[skip:])
                    _check_filter(budget, name, values, kwargs)
                    args = (*args[:skip], *values)
                return budget.result(func(*args, **kwargs))

            return guarded

        def ocx_loop(self, iterable: Any) -> Iterable[Any]:
            return self.budget.guard(iterable)

        def ocx_text(self, text: str) -> str:
            self.budget.fits(len(text))
            self.budget.check()
            return text

        def concat(self, parts: Iterable[str]) -> str:  # type: ignore[override]
            """Join a macro's, `{% set %}` block's or filter block's output, part by part
            against the cap (Environment.concat is a plain "".join)."""
            out = []
            size = 0
            for part in parts:
                size += len(part)
                self.budget.fits(size)
                out.append(part)
            self.budget.check()
            return "".join(out)

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            self.budget.check()
            _check_binop(self.budget, operator, left, right)
            return self.budget.result(super().call_binop(context, operator, left, right))

        def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
            budget = __self.budget
            budget.check()
            if hasattr(__obj, "__self__") or hasattr(__obj, "__wrapped__") or __obj is lipsum:
                args = _check_method(budget, __obj, args, kwargs)
            value = super().call(__context, __obj, *args, **kwargs)
            return budget.result(value) if isinstance(value, _CHECKED) else value

    return Sandbox


def _environment(budget: _Budget) -> Any:
    from jinja2 import StrictUndefined

    return _environment_class()(
        budget, undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
    )


@contextmanager
def _alarm_clock() -> Iterator[Callable[[float], None] | None]:
    """SIGALRM as a backstop for the cooperative checks, over a whole run of renders: yields
    `arm(seconds)`, which makes the alarm end the render that long from now (0 disarms), or
    None where no alarm can be used (not the main thread, or another timer or handler is in
    place). The handler is installed once for the run and only the timer is set for each
    message: installing and removing it every time cost more than rendering a short update."""
    if not (
        hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getitimer(signal.ITIMER_REAL)[0] == 0
        and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, signal.SIG_IGN, None)
    ):
        yield None
        return

    def ring(signum: int, frame: Any) -> None:
        raise _Stop("time")

    def arm(seconds: float) -> None:
        signal.setitimer(signal.ITIMER_REAL, seconds)

    previous = signal.signal(signal.SIGALRM, ring)
    try:
        yield arm
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _line_of(exc: BaseException) -> int | None:
    """The template line an error happened on: Jinja2 rewrites tracebacks so the template's
    own frames carry its line numbers."""
    line = getattr(exc, "lineno", None)
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == _NAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


@contextmanager
def _limited(budget: _Budget, limits: Limits, arm: Callable[[float], None] | None
             ) -> Iterator[None]:  # fmt: skip
    """The deadline runs (and the SIGALRM backstop, where `_alarm_clock` gave one) for the
    block's duration: one message, or compiling the template."""
    budget.deadline = time.monotonic() + limits.timeout
    if arm is not None:
        arm(limits.timeout + _ALARM_GRACE)
    try:
        yield
    finally:
        if arm is not None:
            arm(0)
        budget.deadline = float("inf")


def _generate(template: Any, context: Mapping[str, Any], names: Mapping[str, Any]
              ) -> Iterator[str]:  # fmt: skip
    """Template.generate(**context), the globals (`range`, ...) merged once for every message
    (`names`) instead of out of a ChainMap for each one. Errors are handed to Jinja2 as
    generate hands them, so tracebacks still name the template's lines."""
    ctx = template.new_context({**names, **context}, shared=True)
    try:
        yield from template.root_render_func(ctx)
    except Exception:
        yield template.environment.handle_exception()


def _render_one(template: Any, context: Mapping[str, Any], budget: _Budget, limits: Limits,
                arm: Callable[[float], None] | None, names: Mapping[str, Any]) -> str:  # fmt: skip
    """One message, its output counted in UTF-8 bytes as it comes, against the deadline. The
    alarm is set again for each message and left running after it: the next message sets it
    again at once, and `_alarm_clock` stops it after the last (no context manager here, and
    one system call a message: this runs once per customer)."""
    chunks = []
    size = 0
    max_bytes = limits.max_bytes
    budget.deadline = deadline = time.monotonic() + limits.timeout
    if arm is not None:
        arm(limits.timeout + _ALARM_GRACE)
    try:
        for chunk in _generate(template, context, names):
            size += len(chunk) if chunk.isascii() else len(chunk.encode("utf-8", "replace"))
            if size > max_bytes:
                raise _Stop("bytes")
            if time.monotonic() > deadline:
                raise _Stop("time")
            chunks.append(chunk)
    finally:
        budget.deadline = float("inf")
    return "".join(chunks).strip()


def _limit_error(stop: _Stop, name: str, who: str | None, limits: Limits) -> OcxError:
    whose = f" for {who}" if who else ""
    if stop.what == "time":
        return OcxError(
            f"{name} took longer than template_timeout ({limits.timeout:g} s){whose}; "
            "simplify it or raise template_timeout in ocx.toml"
        )
    return OcxError(
        f"{name} made a message over template_max_bytes ({limits.max_bytes} bytes){whose}; "
        "shorten it or raise template_max_bytes in ocx.toml"
    )


def render_all(
    source: str, contexts: Sequence[Mapping[str, Any]], *, name: str = "--message",
    labels: Sequence[str] | None = None, limits: Limits = Limits(),
) -> list[str]:  # fmt: skip
    """Render one template per context; the first error or limit hit stops everything
    (nothing has been queued yet): errors name the template line, limits name `name`
    (`template FILE` or `--message`), the limit and whose message it was (`labels`)."""
    with _alarm_clock() as arm:
        return _render_all(source, contexts, name, labels, limits, arm)


def _render_all(
    source: str, contexts: Sequence[Mapping[str, Any]], name: str,
    labels: Sequence[str] | None, limits: Limits, arm: Callable[[float], None] | None,
) -> list[str]:  # fmt: skip
    from jinja2 import TemplateError
    from jinja2.exceptions import SecurityError

    budget = _Budget(limits.max_bytes)
    env = _environment(budget)
    try:  # within the limits too: Jinja2 computes filters of constants as it compiles
        with _limited(budget, limits, arm):
            template = env.from_string(source)  # compiled as "<template>": tracebacks name lines
    except _Stop as stop:
        raise _limit_error(stop, name, None, limits) from None
    except TemplateError as exc:
        raise OcxError(f"template line {_line_of(exc) or '?'}: {exc.message or exc}") from None
    # A plain dict in place of Jinja2's ChainMap over the environment's globals (the same
    # names): every message's context reads them, and walking the ChainMap was a tenth of
    # what a short message cost.
    template.globals = names = dict(template.globals)
    out = []
    for index, context in enumerate(contexts):
        try:
            out.append(_render_one(template, context, budget, limits, arm, names))
        except _Stop as stop:
            who = f"customer {labels[index]}" if labels else f"message {index + 1}"
            raise _limit_error(stop, name, who, limits) from None
        except SecurityError as exc:
            raise OcxError(
                f"template line {_line_of(exc) or '?'}: not allowed in a template ({exc})"
            ) from None
        except TemplateError as exc:
            raise OcxError(f"template line {_line_of(exc) or '?'}: {exc.message or exc}") from None
        except Exception as exc:  # e.g. a filter used on the wrong kind of value
            raise OcxError(
                f"template line {_line_of(exc) or '?'}: {type(exc).__name__}: {exc}"
            ) from None
    return out
