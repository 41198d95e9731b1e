"""Customer-facing messages from templates, rendered in Jinja2's sandbox: a template is
customer-supplied text as far as safety goes, so it cannot reach Python's internals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ocx.errors import OcxError

_NAME = "<template>"


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


def _environment() -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    return ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
    )


def render_all(source: str, contexts: Sequence[Mapping[str, Any]]) -> list[str]:
    """Render one template per context; the first error stops everything (nothing has been
    queued yet) with the template line it happened on."""
    from jinja2 import TemplateError
    from jinja2.exceptions import SecurityError

    env = _environment()
    try:
        template = env.from_string(source)  # compiled as "<template>": tracebacks name lines
    except TemplateError as exc:
        raise OcxError(f"template line {_line_of(exc) or '?'}: {exc.message or exc}") from None
    out = []
    for context in contexts:
        try:
            out.append(template.render(**context).strip())
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
