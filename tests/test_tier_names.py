"""Adding a built-in tier is one module in ``vsbench/tiers/`` plus one registry line: no code
outside that package branches on a tier's name. Checked on the source (ast): a tier's name
spelt as a string literal outside ``vsbench/tiers/`` fails, except in the CLI's option
declarations (defaults and help) and the record keys listed below, which committed records
hold and so cannot follow a rename."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

from vsbench.tiers.registry import BUILT_IN

PACKAGE = Path(__file__).resolve().parents[1] / "vsbench"

# module -> {literal: how many times}, each with why it is not a tier's name in code.
RECORD_KEYS: dict[str, dict[str, int]] = {
    # Schema 1-2 records kept their tiers' summaries under these keys: the reader that
    # upgrades them names the tiers those schemas had (history, not a list to extend).
    "records/upgrade.py": {"instance": 1, "features": 1, "profiles": 2, "posterior": 2},
    # The record's own fields (MetricsRecord.profiles / .posterior), checked by type.
    "records/schema.py": {"profiles": 1, "posterior": 1},
    # The biometrics summary's sections (metrics.json: biometrics.instance, .features): the
    # shared scoring pass of the two tiers writes them, with the per-field work each needs.
    "biometrics/tiers.py": {"instance": 1, "features": 1},
    "biometrics/feature_posterior.py": {"features": 2},
    "profiles/tier.py": {"features": 1},
    # The posterior summary's feature section and the run config's posterior settings
    # (config.extra["posterior"]), both in committed records.
    "engine/posterior.py": {"features": 1},
    "engine/plan.py": {"posterior": 1},
    # ladder.json's section of the posterior rungs (validate-tiers writes it; its readers and
    # benchmarks/README's table use the key).
    "cli/validate.py": {"posterior": 1},
    # Not tiers: the NSC backbone's feature settings, the ground truth cache's feature
    # settings (a cache key), the unit "features" of a board's intervals.
    "nsc/masks.py": {"features": 2},
    "biometrics/ground_truth.py": {"features": 1},
    "leaderboard/board.py": {"features": 1},
    "leaderboard/statistics.py": {"features": 3},
}


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0].value))
    return out


def _option_strings(tree: ast.AST) -> set[int]:
    """The string constants inside ``typer.Option(...)`` / ``typer.Argument(...)`` calls."""
    out = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("Option", "Argument")):
            out.update(id(c) for c in ast.walk(node) if isinstance(c, ast.Constant))
    return out


def tier_literals(path: Path) -> Counter:
    """The tier names spelt as string literals in ``path`` (not docstrings or CLI options)."""
    tree = ast.parse(path.read_text(), str(path))
    skip = _docstrings(tree) | _option_strings(tree)
    found = Counter()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                and node.value in BUILT_IN and id(node) not in skip):
            found[node.value] += 1
    return found


def test_no_tier_name_is_spelt_outside_the_tiers_package():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith("tiers/"):
            continue
        allowed = RECORD_KEYS.get(relative, {})
        for name, count in tier_literals(path).items():
            if count > allowed.get(name, 0):
                wrong.append(f"vsbench/{relative}: '{name}' x{count}")
    assert not wrong, ("tier names spelt outside vsbench/tiers/ (read them from the registry, "
                       "vsbench.tiers.registry, or the tier's TierSpec): " + "; ".join(wrong))


def test_every_allowed_record_key_is_still_there():
    """An allowance that no longer matches the code is removed, so that it cannot hide a new
    use later."""
    stale = []
    for relative, allowed in RECORD_KEYS.items():
        path = PACKAGE / relative
        found = tier_literals(path) if path.is_file() else Counter()
        stale += [f"{relative}: '{n}'" for n, c in allowed.items() if found[n] != c]
    assert not stale, "RECORD_KEYS lists literals the code no longer has: " + "; ".join(stale)


def test_the_check_finds_a_tier_name_and_skips_docstrings_and_options(tmp_path):
    source = tmp_path / "m.py"
    source.write_text('"""The profiles tier."""\nimport typer\n'
                      'def f(tier=typer.Option("pixel", help="pixel")):\n'
                      '    """features"""\n    return tier == "profiles"\n')
    assert tier_literals(source) == Counter({"profiles": 1})
