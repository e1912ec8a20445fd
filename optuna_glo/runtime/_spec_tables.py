"""A small checker from TOML tables to frozen dataclasses, with messages that name the key."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

from optuna_glo.runtime._spec_ranges import check_ranges


class SpecError(ValueError):
    """A study spec that cannot be used, with the key and the reason."""


# A small checker from TOML tables to frozen dataclasses, with messages that name the key.
# --------------------------------------------------------------------------------------------

_TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}


def build_table(cls: type, table: Any, where: str, source: str) -> Any:
    if not isinstance(table, dict):
        raise SpecError(f"{source}: [{where}] must be a table, got {table!r}.")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    unknown = sorted(set(table) - set(fields))
    if unknown:
        raise SpecError(
            f"{source}: unknown key(s) {', '.join(f'`{k}`' for k in unknown)} in [{where}]. "
            f"Known keys: {', '.join(f'`{k}`' for k in fields)}."
        )
    kwargs = {}
    for name, f in fields.items():
        if name in table:
            kwargs[name] = _coerce(table[name], hints[name], f"[{where}] {name}", source)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise SpecError(f"{source}: missing key `{name}` in [{where}].")
    settings = cls(**kwargs)
    try:
        check_ranges(where, settings)
    except ValueError as err:
        raise SpecError(f"{source}: [{where}] {err}") from None
    return settings


def _coerce(value: Any, hint: Any, key: str, source: str) -> Any:
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    if value is None and type(None) in options:  # only in stored specs: TOML has no null
        return None
    if typing.get_origin(hint) is tuple:  # tuple[T, ...] from a TOML array
        (item, _) = typing.get_args(hint)
        if not isinstance(value, list | tuple):
            raise SpecError(f"{source}: {key} must be a list, got {value!r}.")
        return tuple(_coerce(v, item, f"{key} item", source) for v in value)
    for option in options:
        if option is type(None):
            continue
        if isinstance(option, type) and dataclasses.is_dataclass(option):
            if isinstance(value, dict):
                return build_table(option, value, key.strip("[]").replace("] ", "."), source)
            continue
        if option is bool and isinstance(value, bool):
            return value
        if option is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if option is float and isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if option is str and isinstance(value, str):
            return value
    expected = " or ".join(
        "a table" if dataclasses.is_dataclass(o) else _TYPE_NAMES.get(o, str(o))
        for o in options
        if o is not type(None)
    )
    raise SpecError(f"{source}: {key} must be {expected}, got {value!r}.")
