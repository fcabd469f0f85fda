"""docs/citus/distribute.sql, the Citus sharding plan, checked against the real schema.

Citus cannot be installed here, so the plan is checked the other way round: every table the Django
models and the migrations create must be classified exactly once (distributed, reference or local),
and the schema changes the plan says Citus needs (`-- requires:` lines) must be exactly those that
follow from Citus' rules and the current models:

* a distributed table needs its distribution column, and every PRIMARY KEY and UNIQUE constraint on it
  must include that column;
* a foreign key between two distributed tables must include the distribution column on both sides
  (and the tables must be co-located);
* foreign keys from a distributed, reference or local table to a reference table are fine, and so
  are local → local ones; any other (to a distributed table from a reference or local table, or to a
  local table from a distributed or reference table) is impossible and must go;
* a trigger on a distributed or reference table does not run where the coordinator's trigger did
  (shards live on the workers): the tile-version triggers need replacing.

So adding a model, a unique constraint, a foreign key or a trigger makes this test fail until the plan
is updated. It reads the models' metadata and the migrations' SQL only: no database needed.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps
from django.db import models

ROOT = Path(__file__).resolve().parents[2]
PLAN = ROOT / "docs" / "citus" / "distribute.sql"
# Created by Django itself, not by a model or a migration's SQL.
FRAMEWORK_TABLES = {"django_migrations"}

REFERENCE_RE = re.compile(r"create_reference_table\(\s*'(\w+)'\s*\)")
DISTRIBUTED_RE = re.compile(
    r"create_distributed_table\(\s*'(\w+)'\s*,\s*'(\w+)'\s*(?:,\s*colocate_with\s*=>\s*'(\w+)'\s*)?\)"
)
LOCAL_RE = re.compile(r"^-- local: (\w+)\b", re.MULTILINE)
CITUS_LOCAL_RE = re.compile(r"citus_add_local_table_to_metadata\(\s*'(\w+)'\s*\)")
REQUIRES_RE = re.compile(r"^-- requires: (\w+) (.+?)(?:\s+->.*)?$", re.MULTILINE)


@dataclass
class Plan:
    reference: list[str] = field(default_factory=list)
    distributed: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # table → (column, colocate)
    local: list[str] = field(default_factory=list)
    citus_local: list[str] = field(default_factory=list)
    requires: list[tuple[str, str]] = field(default_factory=list)
    order: dict[str, int] = field(default_factory=dict)  # table → position of its create_* call

    def kind(self, table: str) -> str:
        if table in self.distributed:
            return "distributed"
        if table in self.reference:
            return "reference"
        return "local"


def sql_code(text: str) -> str:
    """The SQL without comment lines (so that commented-out examples are not read as calls)."""
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))


def parse_plan(text: str) -> Plan:
    code = sql_code(text)
    plan = Plan()
    for m in REFERENCE_RE.finditer(code):
        plan.reference.append(m.group(1))
        plan.order.setdefault(m.group(1), m.start())
    for m in DISTRIBUTED_RE.finditer(code):
        table, column, colocate = m.groups()
        assert table not in plan.distributed, f"{table} distributed twice"
        plan.distributed[table] = (column, colocate)
        plan.order.setdefault(table, m.start())
    plan.citus_local = CITUS_LOCAL_RE.findall(code)
    plan.local = LOCAL_RE.findall(text)
    plan.requires = [(t, " ".join(spec.split())) for t, spec in REQUIRES_RE.findall(text)]
    return plan


def model_tables() -> dict[str, type[models.Model]]:
    """Every table a managed model (including auto-created many-to-many tables) creates."""
    tables = {}
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.managed and not meta.proxy:
            tables.setdefault(meta.db_table, model)
    return tables


def migration_sql() -> str:
    return "\n".join(p.read_text() for p in sorted(ROOT.glob("geo_mz/*/migrations/0*.py")))


def migration_tables() -> set[str]:
    """Tables created by the migrations' own SQL (RunSQL), outside any model."""
    return {
        t.lower()
        for t in re.findall(r"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)", migration_sql(), re.I)
    }


def migration_triggers() -> set[tuple[str, str]]:
    """(table, trigger) for every CREATE TRIGGER in the migrations."""
    found = re.findall(
        r"CREATE\s+(?:CONSTRAINT\s+)?TRIGGER\s+(\w+)\s.*?\bON\s+(\w+)", migration_sql(), re.I | re.S
    )
    return {(table.lower(), name.lower()) for name, table in found}


def _columns(model, names) -> tuple[str, ...]:
    return tuple(model._meta.get_field(n).column for n in names)


def unique_sets(model) -> list[tuple[str, ...] | str]:
    """The column sets of the model's PRIMARY KEY-less unique constraints (a name for expression ones)."""
    meta = model._meta
    found: list[tuple[str, ...] | str] = []
    for f in meta.local_fields:
        if f.unique and not f.primary_key:
            found.append((f.column,))
    for names in meta.unique_together:
        found.append(_columns(model, names))
    for c in meta.constraints:
        if isinstance(c, models.UniqueConstraint):
            found.append(_columns(model, c.fields) if c.fields else c.name)
    return found


def foreign_keys(model) -> list[tuple[str, str]]:
    """(column, referenced table) of the model's database-level foreign keys."""
    return [
        (f.column, f.related_model._meta.db_table)
        for f in model._meta.local_fields
        if f.is_relation and (f.many_to_one or f.one_to_one) and getattr(f, "db_constraint", False)
    ]


ALLOWED_FK = {
    ("distributed", "reference"),
    ("reference", "reference"),
    ("local", "reference"),
    ("local", "local"),
}


def required_changes(plan: Plan, tables: dict[str, type[models.Model]]) -> Counter:
    """What Citus requires of the current schema under the plan, as `-- requires:` specs."""
    needed: Counter = Counter()
    for table, model in tables.items():
        kind = plan.kind(table)
        if kind == "distributed":
            column = plan.distributed[table][0]
            if column not in {f.column for f in model._meta.local_fields}:
                needed[(table, f"column {column}")] += 1
            pk = model._meta.pk.column
            if pk != column:
                needed[(table, f"primary key ({pk})")] += 1
            for cols in unique_sets(model):
                if isinstance(cols, str):
                    needed[(table, f"unique {cols}")] += 1
                elif column not in cols:
                    needed[(table, f"unique ({', '.join(cols)})")] += 1
        for fk_column, target in foreign_keys(model):
            target_kind = plan.kind(target)
            if (kind, target_kind) == ("distributed", "distributed") or (kind, target_kind) not in ALLOWED_FK:
                needed[(table, f"foreign key ({fk_column}) references {target}")] += 1
    for table, trigger in migration_triggers():
        if plan.kind(table) in ("distributed", "reference"):
            needed[(table, f"trigger {trigger}")] += 1
    return needed


# ---------------------------------------------------------------------------------------------------


def _plan() -> Plan:
    return parse_plan(PLAN.read_text())


def test_every_table_is_classified_exactly_once():
    plan = _plan()
    tables = set(model_tables()) | migration_tables() | FRAMEWORK_TABLES
    named = plan.reference + list(plan.distributed) + plan.local
    twice = sorted(t for t, n in Counter(named).items() if n > 1)
    assert twice == [], f"classified more than once: {twice}"
    assert sorted(tables - set(named)) == [], "tables the plan does not classify (add them to distribute.sql)"
    assert sorted(set(named) - tables) == [], "the plan names tables that do not exist"


def test_distributed_tables_share_one_distribution_column_and_colocation_group():
    plan = _plan()
    assert plan.distributed, "no distributed tables"
    columns = {column for column, _ in plan.distributed.values()}
    assert columns == {"county_code"}
    anchors = [t for t, (_, colocate) in plan.distributed.items() if colocate in (None, "none", "default")]
    assert len(anchors) == 1, f"one table starts the co-location group, found {anchors}"
    for table, (_, colocate) in plan.distributed.items():
        if table != anchors[0]:
            assert colocate == anchors[0], f"{table} must colocate_with => '{anchors[0]}'"


def test_tables_are_distributed_after_the_tables_they_reference():
    plan, tables = _plan(), model_tables()
    for table, model in tables.items():
        if plan.kind(table) == "local":
            continue
        for _column, target in foreign_keys(model):
            if target != table and plan.kind(target) != "local":
                assert plan.order[target] < plan.order[table], f"{target} must come before {table}"


def test_local_tables_that_reference_reference_tables_become_citus_local_tables():
    plan, tables = _plan(), model_tables()
    expected = sorted(
        {
            t
            for t, m in tables.items()
            if plan.kind(t) == "local" and any(plan.kind(g) == "reference" for _, g in foreign_keys(m))
        }
    )
    assert sorted(plan.citus_local) == expected
    for table in plan.citus_local:
        assert table in plan.local


def test_required_schema_changes_match_the_models_exactly():
    plan = _plan()
    needed = required_changes(plan, model_tables())
    listed = Counter(plan.requires)
    missing = sorted((needed - listed).elements())
    stale = sorted((listed - needed).elements())
    assert missing == [], "changes Citus needs that distribute.sql does not list (add `-- requires:` lines)"
    assert stale == [], "`-- requires:` lines that no longer follow from the models (remove them)"


def test_the_check_finds_what_citus_would_refuse():
    # The checker itself, on a plan that distributes addresses but forgets everything else.
    plan = parse_plan(
        "SELECT create_reference_table('divisions_division');\n"
        "SELECT create_distributed_table('addresses_address', 'county_code');\n"
    )
    needed = required_changes(plan, model_tables())
    address = {spec for table, spec in needed if table == "addresses_address"}
    assert {
        "column county_code",
        "primary key (id)",
        "unique (code)",
        "unique (previous_id)",
        "unique (feature_id, number, suffix)",
        "unique (division_id, group, number, suffix)",
        "trigger address_tile_touch",
    } <= address
    # addresses → named features (local in this plan): a distributed table cannot reference a local one.
    assert "foreign key (feature_id) references placenames_namedfeature" in address
    # addresses → divisions (reference): fine.
    assert not any(spec.endswith("references divisions_division") for spec in address)
    # A local table that references a distributed one: impossible.
    assert ("addresses_addresscase", "foreign key (address_id) references addresses_address") in needed
