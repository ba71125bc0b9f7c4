"""The policy file (``lineagectl.yaml``): regions, residency and flow rules, PII globs, retention, quality.

The command line finds it (``--policy PATH``, else ``$LINEAGECTL_POLICY``, else the
nearest ``lineagectl.yaml`` upwards) and passes the path. It is validated strictly:
an unknown key, a wrong type or an invalid glob is a ``PolicyError`` (exit 2) naming
the file, the key path and what was expected, so a typo in a CI policy fails loudly
instead of silently checking nothing.

Globs are shell-style (``*``, ``?``, ``[abc]``, ``[!abc]``) and case-insensitive, as
``lineagectl.common.globs.Glob`` defines them. Region globs match a dataset's
namespace alone or ``namespace/name``; PII and quality column globs match
``name.column`` or ``namespace/name.column``; dataset-name globs in flow rules match
the whole name or a suffix of it at a ``.``/``/`` boundary (as names do on the
command line), so ``analytics_prod.*`` matches ``acme-eu.analytics_prod.orders``.
The checks match in SQL (``Glob.sql_regex`` and friends); only the quality limits
of ``max_null_fraction`` are looked up in Python (``Glob.match``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from lineagectl.common.globs import Glob, GlobError
from lineagectl.errors import PolicyError

DEFAULT_FILE = "lineagectl.yaml"
UNKNOWN_REGION = "unknown"
REQUIREMENTS = ("masking",)



@dataclass
class Selector:
    """Which datasets or columns a flow rule's ``from``/``to`` names; every given key must match."""

    tag: str | None = None
    namespace: Glob | None = None
    name: Glob | None = None
    column: Glob | None = None
    region: str | None = None


@dataclass
class ResidencyRule:
    name: str
    origin: str          # the ``from`` region
    allowed: list[str]


@dataclass
class FlowRule:
    name: str
    source: Selector
    target: Selector
    require: str


@dataclass
class Policy:
    """A validated policy; ``path`` is where it was read from (None for an empty default)."""

    path: str | None = None
    regions: dict[str, list[Glob]] = field(default_factory=dict)
    residency: list[ResidencyRule] = field(default_factory=list)
    pii_columns: list[Glob] = field(default_factory=list)
    flows: list[FlowRule] = field(default_factory=list)
    detailed_days: int | None = None
    summary_days: int | None = None
    quality: dict[str, Any] = field(default_factory=dict)
    # Line (1-based) of each rule's ``name:`` in the file, so CI annotations can point at the rule.
    rule_lines: dict[str, int] = field(default_factory=dict)
    # ``db:``: the store file the configuration names (relative to the file's folder).
    db: str | None = None

    def max_null_fraction(self, namespace: str, name: str, column: str) -> float | None:
        """The null-fraction limit for a column: the first matching ``quality.columns`` glob
        (on ``name.column`` or ``namespace/name.column``), else ``quality.max_null_fraction``."""
        short, full = f"{name}.{column}", f"{namespace}/{name}.{column}"
        for glob, limit in self.quality.get("columns", []):
            if glob.match(short) or glob.match(full):
                return limit
        return self.quality.get("max_null_fraction")


def load_policy(path: str | os.PathLike[str] | None = None, required: bool = False) -> Policy:
    """Read and validate the policy file at ``path``; with no path, an empty policy, or
    ``PolicyError`` when the caller's command needs one (``required``). Where the file is
    looked for (``--policy``, ``$LINEAGECTL_POLICY``, the nearest ``lineagectl.yaml``) is the
    command line's business, not the library's."""
    found = None if path is None else str(path)
    if found is None:
        if required:
            raise PolicyError("no policy file: this command needs regions and rules",
                              hint=f"write {DEFAULT_FILE} (see README: Policy file) or pass --policy PATH")
        return Policy()
    try:
        text = Path(found).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError(f"{found}: policy file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{found}: cannot read policy file: {exc}") from None
    return parse_policy(text, found)


# Real policies are a few KiB with tens of globs; these bounds keep a hostile or generated
# file from tying up the (pure Python) YAML reader for minutes. Each glob becomes part of
# a regular expression DuckDB runs per row, so thousands of them also make every check slow.
MAX_POLICY_BYTES = 1 << 20
MAX_GLOBS = 10_000


def parse_policy(text: str, path: str = DEFAULT_FILE) -> Policy:
    """Validate policy YAML ``text`` (``path`` only names it in messages)."""
    import yaml

    if len(text) > MAX_POLICY_BYTES:
        raise PolicyError(f"{path}: policy file larger than {MAX_POLICY_BYTES >> 20} MiB ({len(text):,} characters)",
                          hint="a policy names regions and rules with globs; list tables by pattern, not one by one")
    try:
        data = yaml.safe_load(text)
    except RecursionError:
        raise PolicyError(f"{path}: nested too deeply to be a policy",
                          hint="see README: Policy file for its shape") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise PolicyError(f"{path}{where}: not valid YAML: {problem}") from None
    policy = _Validator(path).policy(data)
    policy.rule_lines = _rule_lines(text)
    return policy


def _rule_lines(text: str) -> dict[str, int]:
    """Where each residency/flow rule's name is written (from the YAML node marks)."""
    import yaml

    lines: dict[str, int] = {}
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    for key, section in root.value if isinstance(root, yaml.MappingNode) else []:
        if key.value in ("residency", "flows") and isinstance(section, yaml.SequenceNode):
            for item in section.value:
                for k, v in item.value if isinstance(item, yaml.MappingNode) else []:
                    if k.value == "name" and isinstance(v, yaml.ScalarNode):
                        lines.setdefault(v.value, k.start_mark.line + 1)
    return lines


class _Validator:
    """Turns parsed YAML into a ``Policy``, failing with the key path of the first problem."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.globs = 0

    def fail(self, where: str, expected: str, got: Any = ...) -> NoReturn:
        got_text = "" if got is ... else f", got {_describe(got)}"
        raise PolicyError(f"{self.path}: {where}: expected {expected}{got_text}",
                          hint="see README: Policy file for every key")

    def mapping(self, value: Any, where: str, keys: dict[str, bool]) -> dict:
        """A mapping with only ``keys`` (True = required)."""
        if not isinstance(value, dict):
            self.fail(where, "a mapping", value)
        for key in value:
            if key not in keys:
                known = ", ".join(keys) if keys else "no keys here"
                raise PolicyError(f"{self.path}: {where + '.' if where else ''}{key}: unknown key "
                                  f"(expected one of: {known})", hint="see README: Policy file for every key")
        for key, required in keys.items():
            if required and key not in value:
                self.fail(f"{where}.{key}" if where else key, "this key to be present")
        return value

    def string(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(where, "a non-empty string", value)
        return value

    def glob(self, value: Any, where: str) -> Glob:
        pattern = self.string(value, where)
        self.globs += 1
        if self.globs > MAX_GLOBS:
            raise PolicyError(f"{self.path}: {where}: more than {MAX_GLOBS:,} globs in one policy",
                              hint="match tables by pattern (`bq.sales_*`) rather than listing each")
        try:
            return Glob(pattern)
        except GlobError as exc:
            self.fail(where, f"a valid glob ({exc.reason})", value)

    def string_list(self, value: Any, where: str) -> list:
        if isinstance(value, str) or not isinstance(value, list) or not value:
            self.fail(where, "a non-empty list", value)
        return value

    def days(self, value: Any, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.fail(where, "a whole number of days, 1 or more", value)
        return value

    def policy(self, data: Any) -> Policy:
        if data is None:
            return Policy(path=self.path)
        data = self.mapping(data, "", dict.fromkeys(
            ("db", "regions", "residency", "pii", "flows", "retention", "quality"), False))
        policy = Policy(path=self.path)
        if data.get("db") is not None:
            policy.db = self.string(data["db"], "db")
        policy.regions = self._regions(data.get("regions"))
        policy.residency = self._residency(data.get("residency"), policy.regions)
        if data.get("pii") is not None:
            pii = self.mapping(data["pii"], "pii", {"columns": False})
            if pii.get("columns") is not None:
                policy.pii_columns = [self.glob(g, f"pii.columns[{i}]")
                                      for i, g in enumerate(self.string_list(pii["columns"], "pii.columns"))]
        policy.flows = self._flows(data.get("flows"), policy.regions)
        if data.get("retention") is not None:
            retention = self.mapping(data["retention"], "retention",
                                     {"detailed_days": False, "summary_days": False})
            if "detailed_days" in retention:
                policy.detailed_days = self.days(retention["detailed_days"], "retention.detailed_days")
            if "summary_days" in retention:
                policy.summary_days = self.days(retention["summary_days"], "retention.summary_days")
            if policy.detailed_days and policy.summary_days and policy.detailed_days > policy.summary_days:
                self.fail("retention.detailed_days", "at most retention.summary_days", policy.detailed_days)
        if data.get("quality") is not None:
            policy.quality = self._quality(data["quality"])
        return policy

    def _fraction(self, value: Any, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            self.fail(where, "a number from 0 to 1", value)
        return float(value)

    def _quality(self, value: Any) -> dict[str, Any]:
        """``max_null_fraction`` for every column, and per-column overrides under ``columns``."""
        quality = self.mapping(value, "quality", {"max_null_fraction": False, "columns": False})
        rules: dict[str, Any] = {"columns": []}
        if "max_null_fraction" in quality:
            rules["max_null_fraction"] = self._fraction(quality["max_null_fraction"], "quality.max_null_fraction")
        if quality.get("columns") is not None:
            if not isinstance(quality["columns"], dict):
                self.fail("quality.columns", "a mapping of column glob to rules", quality["columns"])
            for pattern, column_rules in quality["columns"].items():
                where = f"quality.columns.{pattern}"
                glob = self.glob(pattern, where)
                column_rules = self.mapping(column_rules, where, {"max_null_fraction": True})
                rules["columns"].append(
                    (glob, self._fraction(column_rules["max_null_fraction"], f"{where}.max_null_fraction")))
        return rules

    def _regions(self, value: Any) -> dict[str, list[Glob]]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail("regions", "a mapping of region name to a list of globs", value)
        regions = {}
        for region, globs in value.items():
            where = f"regions.{region}"
            if not isinstance(region, str) or not region:
                self.fail(where, "a region name (a string)", region)
            if region == UNKNOWN_REGION:
                self.fail(where, f"a region name other than {UNKNOWN_REGION!r} (it means: matched no region)")
            regions[region] = [self.glob(g, f"{where}[{i}]")
                               for i, g in enumerate(self.string_list(globs, where))]
        return regions

    def _region_name(self, value: Any, where: str, regions: dict, allow_unknown: bool) -> str:
        name = self.string(value, where)
        if name not in regions and not (allow_unknown and name == UNKNOWN_REGION):
            known = ", ".join(list(regions) + ([UNKNOWN_REGION] if allow_unknown else [])) or "none defined"
            self.fail(where, f"a region defined under regions: ({known})", value)
        return name

    def _residency(self, value: Any, regions: dict) -> list[ResidencyRule]:
        if value is None:
            return []
        rules, names = [], set()
        for i, item in enumerate(self.string_list(value, "residency")):
            where = f"residency[{i}]"
            item = self.mapping(item, where, {"name": True, "from": True, "allowed": True})
            name = self.string(item["name"], f"{where}.name")
            if name in names:
                self.fail(f"{where}.name", "a rule name not used before", name)
            names.add(name)
            origin = self._region_name(item["from"], f"{where}.from", regions, allow_unknown=False)
            allowed = [self._region_name(r, f"{where}.allowed[{j}]", regions, allow_unknown=True)
                       for j, r in enumerate(self.string_list(item["allowed"], f"{where}.allowed"))]
            rules.append(ResidencyRule(name, origin, allowed))
        return rules

    def _selector(self, value: Any, where: str, keys: tuple[str, ...], regions: dict) -> Selector:
        item = self.mapping(value, where, dict.fromkeys(keys, False))
        if not item:
            self.fail(where, "at least one of " + ", ".join(keys))
        selector = Selector()
        for key, raw in item.items():
            if key == "tag":
                selector.tag = self.string(raw, f"{where}.tag").lower()
            elif key == "region":
                selector.region = self._region_name(raw, f"{where}.region", regions, allow_unknown=True)
            else:
                setattr(selector, key, self.glob(raw, f"{where}.{key}"))
        return selector

    def _flows(self, value: Any, regions: dict) -> list[FlowRule]:
        if value is None:
            return []
        rules, names = [], set()
        for i, item in enumerate(self.string_list(value, "flows")):
            where = f"flows[{i}]"
            item = self.mapping(item, where, {"name": True, "from": True, "to": True, "require": True})
            name = self.string(item["name"], f"{where}.name")
            if name in names:
                self.fail(f"{where}.name", "a rule name not used before", name)
            names.add(name)
            source = self._selector(item["from"], f"{where}.from",
                                    ("tag", "namespace", "name", "column", "region"), regions)
            target = self._selector(item["to"], f"{where}.to", ("namespace", "name", "region"), regions)
            require = self.string(item["require"], f"{where}.require")
            if require not in REQUIREMENTS:
                self.fail(f"{where}.require", "one of: " + ", ".join(REQUIREMENTS), require)
            rules.append(FlowRule(name, source, target, require))
        return rules


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({value!r})" if value.strip() else "an empty string"
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
