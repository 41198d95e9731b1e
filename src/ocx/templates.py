"""Customer-facing messages from templates, rendered in Jinja2's sandbox: a template is
customer-supplied text as far as safety goes, so it cannot reach Python's internals, and it
runs under limits (time and size per message), so it cannot hang or flood the outbox.

The limits are checked cooperatively, so they hold in any thread: every loop pass, call,
filter, `~` and arithmetic operator looks at the message's deadline, and operators and
methods that multiply text (`'a' * n`, `n ** m`, `center(n)`, `replace`, `join`, widths in
`format` and `%`) are refused before they build anything over the byte limit. In the main
thread a SIGALRM timer backs the deadline up."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache, wraps
from typing import Any

from ocx.errors import OcxError
from ocx.template_limits import (
    CHECKED,
    Budget,
    Limits,
    Stop,
    check_binop,
    check_filter,
    check_method,
)

_NAME = "<template>"
_ALARM_GRACE = 0.25  # the SIGALRM backstop rings this long after the deadline
_DEFAULT_LIMITS = Limits()  # ocx.toml's defaults (template_timeout, template_max_bytes)


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

        def __init__(self, budget: Budget, **options: Any) -> None:
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
                    check_filter(budget, name, values, kwargs)
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
            check_binop(self.budget, operator, left, right)
            return self.budget.result(super().call_binop(context, operator, left, right))

        def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
            budget = __self.budget
            budget.check()
            if hasattr(__obj, "__self__") or hasattr(__obj, "__wrapped__") or __obj is lipsum:
                args = check_method(budget, __obj, args, kwargs)
            value = super().call(__context, __obj, *args, **kwargs)
            return budget.result(value) if isinstance(value, CHECKED) else value

    return Sandbox


def _environment(budget: Budget) -> Any:
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
        raise Stop("time")

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
def _limited(budget: Budget, limits: Limits, arm: Callable[[float], None] | None
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


def _render_one(template: Any, context: Mapping[str, Any], budget: Budget, limits: Limits,
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
                raise Stop("bytes")
            if time.monotonic() > deadline:
                raise Stop("time")
            chunks.append(chunk)
    finally:
        budget.deadline = float("inf")
    return "".join(chunks).strip()


def _limit_error(stop: Stop, name: str, who: str | None, limits: Limits) -> OcxError:
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
    labels: Sequence[str] | None = None, limits: Limits = _DEFAULT_LIMITS,
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

    budget = Budget(limits.max_bytes)
    env = _environment(budget)
    try:  # within the limits too: Jinja2 computes filters of constants as it compiles
        with _limited(budget, limits, arm):
            template = env.from_string(source)  # compiled as "<template>": tracebacks name lines
    except Stop as stop:
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
        except Stop as stop:
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
