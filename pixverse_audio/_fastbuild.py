"""Generated structuring functions for the models on the hot path (jobs, tracks, clips).

A list page of 500 tracks is structured on every poll of a batch, so these
models get a function written for their fields: each wire key is read once,
the common case (the right type) is checked inline, anything else goes to the
same lenient converters the cattrs hooks use, and the instance's field dict is
filled in one step (the models are frozen attrs classes without slots for
this). The result equals the cattrs-generated hook's; when the data does not
fit, the caller falls back to cattrs' detailed converter, which reports every
problem with its path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

import attrs

__all__ = ["compile_builder"]

T = TypeVar("T")

# How to check a non-null value of each annotation inline (``{c}`` is the
# fallback converter's name in the generated namespace).
_INLINE: tuple[tuple[object, str], ...] = (
    (str, "if v.__class__ is not str: v = {c}(v)"),
    (str | None, "if v.__class__ is not str: v = {c}(v)"),
    (int | None, "if v.__class__ is not int: v = {c}(v)"),
    (bool, "if v.__class__ is not bool: v = {c}(v)"),
    (bool | None, "if v.__class__ is not bool: v = {c}(v)"),
    (float | None, "v = float(v) if v.__class__ is int else {c}(v)"),
    (datetime | None, "v = {c}(v)"),
)


def compile_builder(
    cls: type[T],
    *,
    renames: Mapping[str, str],
    known: frozenset[str],
    converters: Mapping[object, Callable[[object], Any]],
    final_flag: str = "",
    final_codes: frozenset[int] = frozenset(),
) -> Callable[[dict[str, Any]], T] | None:
    """A function building ``cls`` from a decoded JSON object, or ``None`` if unsupported.

    Supported: frozen attrs classes without slots whose fields have plain
    defaults (but ``extra``, which collects the unknown keys).

    Args:
        renames: Attribute name to wire key, where they differ.
        known: The wire keys the class reads; every other key goes to ``extra``.
        converters: Annotation to the lenient converter of a non-null value.
        final_flag: The wire key of the final flag; when it is missing or
            null, ``final`` follows ``final_codes`` (the status codes that are final).
    """
    if "__slots__" in cls.__dict__:
        return None
    defaults: dict[str, Any] = {}
    namespace: dict[str, Any] = {
        "_new": object.__new__,
        "_set": object.__setattr__,
        "_defaults": defaults,
        "_cls": cls,
        "_known": known,
        "_codes": final_codes,
    }
    lines = ["def build(d):", "    f = _defaults.copy()"]
    for index, field in enumerate(attrs.fields(attrs.resolve_types(cls))):  # type: ignore[arg-type, type-var]
        if field.name == "extra":
            lines.append("    rest = d.keys() - _known")
            lines.append("    f['extra'] = {k: d[k] for k in rest} if rest else {}")
            continue
        converter = next((c for t, c in converters.items() if t == field.type), None)
        if converter is None or isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
            return None
        name = f"_c{index}"
        namespace[name] = converter
        wire = renames.get(field.name, field.name)
        check = next((code for t, code in _INLINE if t == field.type), "v = {c}(v)")
        check = check.format(c=name)
        if field.default is attrs.NOTHING:  # required: a KeyError goes to the fallback
            lines += [f"    v = d[{wire!r}]", f"    {check}", f"    f[{field.name!r}] = v"]
        else:
            defaults[field.name] = field.default
            lines += [
                f"    v = d.get({wire!r})",
                "    if v is not None:",
                f"        {check}",
                f"        f[{field.name!r}] = v",
            ]
    if final_flag:
        lines.append(f"    if d.get({final_flag!r}) is None: f['final'] = f['status'] in _codes")
    lines += ["    o = _new(_cls)", "    _set(o, '__dict__', f)", "    return o"]
    source = "\n".join(lines)
    code = compile(source, f"<pixverse_audio build {cls.__name__}>", "exec")
    exec(code, namespace)  # noqa: S102 - our own generated code, as attrs and cattrs do
    builder: Callable[[dict[str, Any]], T] = namespace["build"]
    return builder
