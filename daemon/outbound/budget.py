"""A render budget: how long a template may run and how much it may write.

Jinja's sandbox keeps a template away from Python's internals but lets it
loop and allocate at will. The environment here keeps a meter for each
render: every loop iteration, call, attribute, operator and filter checks
the CPU time the render has used, and the output is counted as it streams. What Python would do in
one uninterruptible step (a string a billion wide, a huge power, a join of
copies) is sized before it runs and refused when it would pass the budget.
"""
from __future__ import annotations

import re
import time
import types
from contextvars import ContextVar
from dataclasses import dataclass
from functools import update_wrapper

from jinja2 import nodes
from jinja2.nodes import Impossible
from jinja2.runtime import markup_join, str_join
from jinja2.sandbox import SandboxedEnvironment, SandboxedFormatter
from markupsafe import EscapeFormatter, Markup

TICK = "_pd_budget_tick"
CONCAT = "_pd_budget_concat"
_PRINTF = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?([a-zA-Z%])")
_DIGITS = re.compile(r"\d+")


class BudgetExceeded(Exception):
    """A render went past its budget; the message names the budget and its setting."""


@dataclass(frozen=True)
class Budget:
    """How long one render may take and how many characters it may write."""
    milliseconds: int
    kilobytes: int

    @property
    def chars(self) -> int:
        return self.kilobytes * 1024


class Meter:
    """One render's use of its budget."""

    def __init__(self, budget: Budget):
        self.budget = budget
        # The render's own CPU time, not the wall clock: a template that runs away burns CPU, while a
        # busy machine (other daemons, a GIL held elsewhere) must not cost a customer their mail.
        self.deadline = time.thread_time() + budget.milliseconds / 1000

    def tick(self) -> None:
        if time.thread_time() > self.deadline:
            raise BudgetExceeded(f"the render took longer than its budget of {self.budget.milliseconds} ms "
                                 "(templates.render_milliseconds)")

    def allow(self, size: int) -> None:
        """Refuse a value or an output of `size` characters when it is more than the budget."""
        if size > self.budget.chars:
            raise BudgetExceeded(f"the render would write more than its budget of {self.budget.kilobytes} KB "
                                 "(templates.render_kilobytes)")

    def allow_int(self, bits: int) -> None:
        if bits > 4 * self.budget.chars:  # a number too long to write out within the budget
            raise BudgetExceeded(f"a number in the render would be longer than its budget of "
                                 f"{self.budget.kilobytes} KB (templates.render_kilobytes)")


_METER: ContextVar[Meter | None] = ContextVar("render_meter", default=None)


def stream(template, context: dict, meter: Meter) -> str:
    """Render `template` under `meter`, counting the output as it comes; raises BudgetExceeded."""
    token = _METER.set(meter)
    try:
        chunks, written = [], 0
        for chunk in template.generate(context):
            written += len(chunk)
            meter.allow(written)
            meter.tick()
            chunks.append(chunk)
        return "".join(chunks)
    finally:
        _METER.reset(token)


def instrument(tree: nodes.Template) -> nodes.Template:
    """Make every loop iteration check the clock and every `~` size its result before building it."""
    for loop in tree.find_all(nodes.For):
        loop.body.insert(0, nodes.ExprStmt(_call(TICK, []), lineno=loop.lineno))
    for concat in list(tree.find_all(nodes.Concat)):
        parts = concat.nodes
        concat.nodes = [_call(CONCAT, parts)]  # a Concat of one call: the call does the joining
    return tree


def _call(name: str, args: list) -> nodes.Call:
    return nodes.Call(nodes.Name(name, "load"), args, [], None, None)


def weight(value) -> int:
    """About how many characters `value` takes (shallow for collections)."""
    if isinstance(value, (str, bytes, range)):
        return len(value)
    if isinstance(value, dict):
        return len(value) + sum(weight(k) + weight(v) for k, v in value.items() if isinstance(v, (str, bytes)))
    if isinstance(value, (list, tuple, set, frozenset)):
        return len(value) + sum(len(item) for item in value if isinstance(item, (str, bytes)))
    return 0


class BudgetedEnvironment(SandboxedEnvironment):
    """Jinja's sandbox with a meter on every step a template can take."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.globals.pop("lipsum", None)  # writes as much as it is asked for, in one step
        self.globals[TICK] = _tick
        self.globals[CONCAT] = self._concat
        self.filters = {name: _guarded_filter(name, function) for name, function in self.filters.items()}
        self.concat = _guarded_join

    def add_filters(self, filters: dict) -> None:
        """More filters, each metered as Jinja's own are."""
        self.filters.update({name: _guarded_filter(name, function) for name, function in filters.items()})

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 - jinja's own signature
        meter = _METER.get()
        if meter is not None:
            meter.tick()
            _size_call(meter, __obj, args, kwargs)
        result = super().call(__context, __obj, *args, **kwargs)
        if meter is not None:
            meter.allow(weight(result))
        return result

    def getattr(self, obj, attribute):
        return _weighed(super().getattr(obj, attribute))

    def getitem(self, obj, argument):
        return _weighed(super().getitem(obj, argument))

    def call_binop(self, context, operator, left, right):
        meter = _METER.get()
        if meter is not None:
            meter.tick()
            _size_binop(meter, operator, left, right)
        return super().call_binop(context, operator, left, right)

    def wrap_str_format(self, value):
        """str.format and format_map through a formatter that sizes each field before writing it."""
        if not isinstance(value, (types.MethodType, types.BuiltinMethodType)) \
                or value.__name__ not in ("format", "format_map") or not isinstance(value.__self__, str):
            return None
        text, mapping = value.__self__, value.__name__ == "format_map"
        formatter = _EscapingFormatter(self, escape=text.escape) if isinstance(text, Markup) else _Formatter(self)

        def sized_format(*args, **kwargs):
            if mapping:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                args, kwargs = (), args[0]
            return type(text)(formatter.vformat(text, args, kwargs))

        return update_wrapper(sized_format, value)

    def _concat(self, *parts):
        meter = _METER.get()
        if meter is not None:
            meter.allow(sum(weight(part) for part in parts))
        return (markup_join if self.autoescape else str_join)(parts)


def _tick() -> None:
    meter = _METER.get()
    if meter is not None:
        meter.tick()


def _weighed(value):
    meter = _METER.get()
    if meter is not None:
        meter.tick()
        meter.allow(weight(value))
    return value


def _guarded_join(parts) -> str:
    """Jinja joins a block's buffer with this: size the parts before joining them."""
    parts = list(parts)
    meter = _METER.get()
    if meter is not None:
        meter.allow(sum(len(part) for part in parts))
    return "".join(parts)


class _Formatter(SandboxedFormatter):
    """Refuses a field whose width or precision, or whose text, would pass the budget."""

    def format_field(self, value, format_spec):
        meter = _METER.get()
        if meter is not None:
            meter.tick()
            meter.allow(max(map(int, _DIGITS.findall(format_spec)), default=0))
            meter.allow(weight(value))
        return super().format_field(value, format_spec)

    def vformat(self, format_string, args, kwargs):
        meter = _METER.get()
        if meter is not None:  # each field may repeat an argument: size the whole before building it
            fields = format_string.count("{")
            meter.allow(len(format_string) + fields * max(map(weight, (*args, *kwargs.values())), default=0))
        return super().vformat(format_string, args, kwargs)


class _EscapingFormatter(_Formatter, EscapeFormatter):
    pass


def _size_binop(meter: Meter, operator: str, left, right) -> None:
    if operator == "*":
        if isinstance(left, int) and not isinstance(right, int):
            left, right = right, left
        if isinstance(right, int) and not isinstance(right, bool):
            if isinstance(left, int):
                meter.allow_int(left.bit_length() + right.bit_length())
            else:
                meter.allow(weight(left) * max(right, 0))
    elif operator == "**" and isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
        meter.allow_int(left.bit_length() * right)
    elif operator == "%" and isinstance(left, str):
        meter.allow(_printf_size(left, right))
    elif operator == "+":
        meter.allow(weight(left) + weight(right))


def _printf_size(template: str, values) -> int:
    """At most how long `template % values` comes out."""
    values = values if isinstance(values, tuple) else (values,)
    pieces = list(values.values()) if len(values) == 1 and isinstance(values[0], dict) else list(values)
    widest = max(map(weight, pieces), default=0)
    size = len(template)
    for width, precision, _ in _PRINTF.findall(template):
        stars = [value for value in pieces if isinstance(value, int)] if "*" in (width, precision) else []
        size += widest + sum(int(n) for n in (width, precision) if n.isdigit()) + sum(abs(n) for n in stars)
    return size


# Methods of str and bytes that write as much as an argument says.
_WIDTH_METHODS = {"center", "ljust", "rjust", "zfill"}


def _size_call(meter: Meter, function, args: tuple, kwargs: dict) -> None:
    owner = getattr(function, "__self__", None)
    name = getattr(function, "__name__", "")
    if isinstance(owner, (str, bytes)):
        meter.allow(_method_size(owner, name, args, kwargs))
    if isinstance(function, types.BuiltinMethodType):  # a builtin writing `n` of something, int.to_bytes(n)...
        for value in (*args, *kwargs.values()):
            if isinstance(value, int) and not isinstance(value, bool):
                meter.allow(abs(value))


def _method_size(text, name: str, args: tuple, kwargs: dict) -> int:
    if name in _WIDTH_METHODS and args and isinstance(args[0], int):
        return max(len(text), args[0])
    if name == "expandtabs":
        tab = args[0] if args else kwargs.get("tabsize", 8)
        return len(text) * max(tab if isinstance(tab, int) else 8, 1)
    if name == "replace" and len(args) >= 2:
        return _replace_size(text, args[0], args[1])
    if name == "join" and args:
        items = args[0] if isinstance(args[0], (list, tuple)) else ()
        return weight(items) + len(text) * len(items)
    if name == "translate" and args and isinstance(args[0], dict):
        return len(text) * max((weight(v) for v in args[0].values()), default=1)
    return len(text)


def _replace_size(text, old, new) -> int:
    if not isinstance(old, type(text)) or not isinstance(new, type(text)):
        return len(text)
    found = text.count(old) if old else len(text) + 1
    return len(text) + found * len(new)


def _guarded_filter(name: str, function):
    """A filter that checks the clock, sizes what it would write first, and weighs what it wrote."""
    skip = 1 if hasattr(function, "jinja_pass_arg") else 0  # the context or environment comes first

    def guarded(*args, **kwargs):
        meter = _METER.get()
        if meter is None:  # Jinja folding constants while compiling: leave it to the render, under a meter
            raise Impossible()
        meter.tick()
        value, rest = (args[skip], args[skip + 1:]) if len(args) > skip else (None, ())
        if name == "join" and value is not None and not isinstance(value, (str, list, tuple)):
            value = list(value)  # a generator is measured once, then joined
            args = (*args[:skip], value, *rest)
        meter.allow(_filter_size(name, value, rest, kwargs))
        for number in (*rest, *kwargs.values()):
            if isinstance(number, int) and not isinstance(number, bool):
                meter.allow(abs(number))
        result = function(*args, **kwargs)
        meter.allow(weight(result))
        return result

    return update_wrapper(guarded, function)


def _filter_size(name: str, value, args: tuple, kwargs: dict) -> int:
    """At most how much filter `name` writes for `value`; 0 where the result's weight tells enough."""
    def arg(index: int, key: str, default):
        return kwargs.get(key, args[index] if len(args) > index else default)

    text = value if isinstance(value, str) else ""
    lines = text.count("\n") + 1
    if name == "center":
        width = arg(0, "width", 80)
        return max(len(text), width if isinstance(width, int) else 0)
    if name == "indent":
        width = arg(0, "width", 4)
        return len(text) + lines * (width if isinstance(width, int) else weight(width))
    if name == "wordwrap":
        width, wrap = arg(0, "width", 79), arg(2, "wrapstring", None)
        wraps = len(text) // max(width if isinstance(width, int) else 1, 1) + lines
        return len(text) + wraps * (weight(wrap) or 1)
    if name == "replace":
        return _replace_size(text, arg(0, "old", ""), arg(1, "new", ""))
    if name == "join":
        count = len(value) if isinstance(value, (str, list, tuple)) else 0
        return weight(value) + weight(arg(0, "d", "")) * count
    if name == "format":
        return _printf_size(text, tuple(args) or (kwargs,))
    if name == "tojson":
        indent = arg(0, "indent", None)
        return weight(value) * (1 + (indent if isinstance(indent, int) else 0))
    return 0
