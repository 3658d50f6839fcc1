"""What every run record shares (torch-free): the schema version, a tier's status entry, and
the JSON handling of :class:`Record` - declared fields, unknown keys kept in ``extra``, type
checks that name the file and the field."""

from __future__ import annotations

import dataclasses
import json
from typing import Any, ClassVar, Mapping, TypeVar

from vsbench.errors import ResultsError

SCHEMA_VERSION = 3
TIER_STATUSES = ("scored", "skipped", "failed")

R = TypeVar("R", bound="Record")


def tier_status(summary: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A tier's entry of ``metrics.json``'s ``tiers`` from the summary its scoring returned:
    ``failed`` (``error``), ``skipped`` (``skipped``: why) or ``scored``; None: no summary."""
    if summary is None:
        return None
    if "error" in summary:
        return {"status": "failed", "reason": str(summary["error"])}
    if summary.get("skipped"):
        return {"status": "skipped", "reason": str(summary["skipped"])}
    return {"status": "scored", "reason": None}


def _type_name(kind: Any) -> str:
    if isinstance(kind, tuple):
        return " or ".join(_type_name(k) for k in kind)
    return {str: "text", int: "an integer", float: "a number", bool: "true/false",
            dict: "an object", list: "a list", type(None): "null"}.get(kind, str(kind))


class Record:
    """Shared JSON handling: declared fields, ``extra`` for unknown keys, type checks."""

    # field -> accepted JSON types; fields not listed are not checked.
    _types: ClassVar[dict[str, Any]] = {}
    _required: ClassVar[tuple[str, ...]] = ()
    file_name: ClassVar[str] = ""

    def to_json(self) -> dict[str, Any]:
        """The record as plain JSON (``extra`` keys merged back in)."""
        out = dict(getattr(self, "extra"))
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            if f.name != "extra":
                out[f.name] = getattr(self, f.name)
        return out

    @classmethod
    def from_json(cls: type[R], data: Any, source: object = "record") -> R:
        """Validate ``data`` (parsed JSON) and build the record; ``source`` names the file in
        errors."""
        if not isinstance(data, dict):
            raise ResultsError(f"{source}: not a JSON object.")
        missing = [k for k in cls._required if k not in data]
        if missing:
            raise ResultsError(f"{source}: missing key(s) {', '.join(missing)}.")
        for key, kind in cls._types.items():
            value = data.get(key)
            if key in data and not is_json(value, kind):
                raise ResultsError(f"{source}: '{key}' must be {_type_name(kind)}, not "
                                   f"{json.dumps(value, default=str)[:40]}.")
        names = {f.name for f in dataclasses.fields(cls)} - {"extra"}  # type: ignore[arg-type]
        known = {k: v for k, v in data.items() if k in names}
        known.setdefault("schema_version", 1)
        record = cls(**known, extra={k: v for k, v in data.items() if k not in names})
        record._check(source)
        return record

    @classmethod
    def parse(cls: type[R], text: str, source: object = "record") -> R:
        """:meth:`from_json` of a JSON text; invalid JSON is a :class:`ResultsError`."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ResultsError(f"{source}: invalid JSON ({exc}).") from None
        return cls.from_json(data, source)

    def _check(self, source: object) -> None:
        """Checks beyond the field types (overridden)."""

    def replace(self: R, **changes: Any) -> R:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


def is_json(value: Any, kind: Any) -> bool:
    """Whether parsed JSON ``value`` is of ``kind`` (a type or a tuple of types): an integer
    counts as a number, true/false never as one."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool):
        return bool in kinds
    if float in kinds and isinstance(value, int):
        return True
    return isinstance(value, tuple(k for k in kinds if k is not bool))
