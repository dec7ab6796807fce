"""Search indexes: a metadata value index, full text, and stored child counts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

Three structures, kept in sync with ``nodes`` by triggers, so that every writer (the
catalog, the bulk indexer, a COPY into PostgreSQL) maintains them without knowing they
exist:

* ``metadata_index``: one row per metadata value reachable through objects up to depth
  4, keyed ``(parent_id, path, rank, num, txt, node_id)``. ``path`` is the dotted key with
  ``\\`` and ``.`` inside keys escaped by a backslash; ``rank`` orders JSON types (0
  number, 1 string, 2 false, 3 true, 4 null, 5 array, 6 object); ``num`` holds numbers
  and ``txt`` the first 256 characters of strings (0 and '' otherwise). The scalar
  elements of an array at ``path`` are rows under ``path`` + ``\\`` with rank 10 + their
  rank, spec names rows under ``\\`` with rank 11: an escaped path never ends in an odd
  number of backslashes, so these never collide with a key, and a key's own range of the
  index holds exactly its values, in sort order. Equality, ranges, ``in``,
  ``contains``, key presence, specs and sorting by any such key are index range scans.
* full text: SQLite FTS5 (``nodes_fts``, contentless, rowid = node id) and, on
  PostgreSQL, a stored column ``fulltext = tiled_fulltext_document(metadata)`` with a
  GIN index on ``(parent_id, fulltext)``. Both index the
  string values of the metadata, split into runs of letters and digits, lower-cased.
* ``node_counts``: the number of children of each container, and ``key_counts``: the
  number of children having each indexed key, so that counting a container of millions
  of nodes, or knowing whether any lacks a sort key, does not scan them.

The constants below are mirrored in ``tiled/catalog/search/index.py``; changing them
needs a new migration that rebuilds the tables.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

DEPTH = 4  # deepest metadata key indexed ("a.b.c.d")
PREFIX = 256  # characters of a string value kept in metadata_index.txt
MAX_PATH = 256  # longest escaped path indexed
MAX_DOCUMENT = 262144  # characters of metadata text indexed for full-text search
SPEC_PATH = "\\"  # reserved path of spec names (no escaped key path can equal it)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS nodes_search_{name} ON nodes")
            op.execute(f"DROP FUNCTION IF EXISTS tiled_search_{name}()")
        op.execute("DROP INDEX IF EXISTS ix_nodes_fulltext")
        op.execute("DROP INDEX IF EXISTS ix_nodes_metadata")
        op.execute("ALTER TABLE nodes DROP COLUMN IF EXISTS fulltext")
        op.execute("DROP FUNCTION IF EXISTS tiled_fulltext_document(jsonb)")
        op.execute("DROP FUNCTION IF EXISTS tiled_index_rows(jsonb, jsonb)")
    else:
        for name in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS nodes_search_{name}")
        op.execute("DROP TABLE IF EXISTS nodes_fts")
    op.execute("DROP INDEX IF EXISTS ix_nodes_parent_family")
    op.execute("DROP TABLE IF EXISTS node_counts")
    op.execute("DROP TABLE IF EXISTS key_counts")
    op.execute("DROP TABLE IF EXISTS metadata_index")


# -- SQLite -------------------------------------------------------------------------------


def _sqlite_escape(key: str) -> str:
    return f"replace(replace({key}, '\\', '\\\\'), '.', '\\.')"


def _sqlite_rank(item: str, base: int) -> str:
    return (
        f"{base} + CASE {item}.type WHEN 'integer' THEN 0 WHEN 'real' THEN 0 "
        "WHEN 'text' THEN 1 WHEN 'false' THEN 2 WHEN 'true' THEN 3 WHEN 'null' THEN 4 "
        "WHEN 'array' THEN 5 ELSE 6 END"
    )


def _sqlite_value(item: str, base: int) -> str:
    num = f"CASE WHEN {item}.type IN ('integer', 'real') THEN {item}.atom ELSE 0 END"
    txt = f"CASE WHEN {item}.type = 'text' THEN substr({item}.atom, 1, {PREFIX}) ELSE '' END"
    return f"{_sqlite_rank(item, base)} AS rank, {num} AS num, {txt} AS txt"


def _sqlite_rows(metadata: str, specs: str, source: str = "", columns: str = "") -> str:
    """SELECT of (columns..., path, rank, num, txt) for one node's metadata and specs.

    Triggers cannot use WITH, so each depth is one more nested json_each.
    """
    selects = []
    for level in range(1, DEPTH + 1):
        joins = [f"{source}json_each({metadata}) AS e1"]
        for j in range(2, level + 1):
            joins.append(
                f"json_each(CASE WHEN e{j - 1}.type = 'object' THEN e{j - 1}.value END) AS e{j}"
            )
        path = " || '.' || ".join(_sqlite_escape(f"e{j}.key") for j in range(1, level + 1))
        tables = ", ".join(joins)
        item = f"e{level}"
        selects.append(f"SELECT {columns}{path} AS path, {_sqlite_value(item, 0)} FROM {tables}")
        selects.append(
            f"SELECT {columns}{path} || '\\' AS path, {_sqlite_value('a', 10)} FROM {tables}, "
            f"json_each(CASE WHEN {item}.type = 'array' THEN {item}.value END) AS a "
            "WHERE a.type NOT IN ('array', 'object')"
        )
    selects.append(
        f"SELECT {columns}'{SPEC_PATH}' AS path, 11 AS rank, 0 AS num, "
        f"substr(json_extract(s.value, '$.name'), 1, {PREFIX}) AS txt "
        f"FROM {source}json_each({specs}) AS s WHERE json_type(s.value, '$.name') = 'text'"
    )
    union = " UNION ALL ".join(selects)
    return f"SELECT DISTINCT * FROM ({union}) WHERE length(path) <= {MAX_PATH}"


def _sqlite_paths(metadata: str) -> str:
    """SELECT of the indexed paths that hold a value (any type) in one node's metadata."""
    selects = []
    for level in range(1, DEPTH + 1):
        joins = [f"json_each({metadata}) AS e1"]
        for j in range(2, level + 1):
            joins.append(
                f"json_each(CASE WHEN e{j - 1}.type = 'object' THEN e{j - 1}.value END) AS e{j}"
            )
        path = " || '.' || ".join(_sqlite_escape(f"e{j}.key") for j in range(1, level + 1))
        selects.append(f"SELECT {path} AS path FROM {', '.join(joins)}")
    union = " UNION ALL ".join(selects)
    return f"SELECT path FROM ({union}) WHERE length(path) <= {MAX_PATH}"


def _sqlite_document(metadata: str) -> str:
    return (
        f"(SELECT coalesce(substr(group_concat(atom, ' '), 1, {MAX_DOCUMENT}), '') "
        f"FROM json_tree({metadata}) WHERE type = 'text')"
    )


def _sqlite_add(node: str) -> list[str]:
    rows = _sqlite_rows(f"{node}.metadata", f"{node}.specs")
    return [
        "INSERT INTO metadata_index (parent_id, path, rank, num, txt, node_id) "
        f"SELECT {node}.parent_id, path, rank, num, txt, {node}.id FROM ({rows});",
        f"INSERT INTO nodes_fts (rowid, text) VALUES ({node}.id, {_sqlite_document(node + '.metadata')});",
    ]


def _sqlite_remove(node: str) -> list[str]:
    # Recomputing the old rows from the old metadata deletes by primary key, so the
    # index needs no second B-tree on node_id; contentless FTS5 needs the old text too.
    rows = _sqlite_rows(f"{node}.metadata", f"{node}.specs")
    return [
        f"DELETE FROM metadata_index WHERE parent_id = {node}.parent_id "
        "AND (path, rank, num, txt, node_id) IN "
        f"(SELECT path, rank, num, txt, {node}.id FROM ({rows}));",
        "INSERT INTO nodes_fts (nodes_fts, rowid, text) "
        f"VALUES ('delete', {node}.id, {_sqlite_document(node + '.metadata')});",
    ]


def _sqlite_count(node: str, delta: int) -> str:
    paths = _sqlite_paths(f"{node}.metadata")
    if delta < 0:  # the parent may be going too, in the same statement: never insert
        return (
            f"UPDATE node_counts SET children = children - 1 WHERE node_id = {node}.parent_id;\n"
            f"UPDATE key_counts SET nodes = nodes - 1 WHERE parent_id = {node}.parent_id "
            f"AND path IN ({paths});"
        )
    return (
        f"INSERT INTO node_counts (node_id, children) VALUES ({node}.parent_id, 1) "
        "ON CONFLICT (node_id) DO UPDATE SET children = children + 1;\n"
        f"INSERT INTO key_counts (parent_id, path, nodes) SELECT {node}.parent_id, path, 1 "
        f"FROM ({paths}) WHERE true ON CONFLICT (parent_id, path) DO UPDATE SET nodes = nodes + 1;"
    )


def _upgrade_sqlite() -> None:
    op.execute(
        """
        CREATE TABLE metadata_index (
            parent_id INTEGER NOT NULL,
            path TEXT NOT NULL,
            rank INTEGER NOT NULL,
            num NUMERIC NOT NULL,
            txt TEXT NOT NULL,
            node_id INTEGER NOT NULL,
            PRIMARY KEY (parent_id, path, rank, num, txt, node_id)
        ) WITHOUT ROWID
        """
    )
    op.execute(
        "CREATE VIRTUAL TABLE nodes_fts USING fts5("
        "text, content='', tokenize='unicode61 remove_diacritics 0')"
    )
    op.execute(
        """
        CREATE TABLE node_counts (
            node_id INTEGER PRIMARY KEY REFERENCES nodes (id) ON DELETE CASCADE,
            children INTEGER NOT NULL
        )
        """
    )
    op.execute(
        """
        CREATE TABLE key_counts (
            parent_id INTEGER NOT NULL,
            path TEXT NOT NULL,
            nodes INTEGER NOT NULL,
            PRIMARY KEY (parent_id, path)
        ) WITHOUT ROWID
        """
    )
    op.execute("CREATE INDEX ix_nodes_parent_family ON nodes (parent_id, structure_family, id)")
    body = "\n".join(_sqlite_add("NEW") + [_sqlite_count("NEW", 1)])
    op.execute(
        "CREATE TRIGGER nodes_search_insert AFTER INSERT ON nodes "
        f"WHEN NEW.parent_id IS NOT NULL BEGIN\n{body}\nEND"
    )
    body = "\n".join(_sqlite_remove("OLD") + [_sqlite_count("OLD", -1)])
    op.execute(
        "CREATE TRIGGER nodes_search_delete AFTER DELETE ON nodes "
        f"WHEN OLD.parent_id IS NOT NULL BEGIN\n{body}\nEND"
    )
    body = "\n".join(
        _sqlite_remove("OLD") + _sqlite_add("NEW") + [_sqlite_count("OLD", -1), _sqlite_count("NEW", 1)]
    )
    op.execute(
        "CREATE TRIGGER nodes_search_update AFTER UPDATE OF metadata, specs, parent_id ON nodes "
        f"WHEN OLD.parent_id IS NOT NULL AND NEW.parent_id IS NOT NULL BEGIN\n{body}\nEND"
    )
    # Existing catalogs: index what is already there.
    rows = _sqlite_rows("n.metadata", "n.specs", source="nodes AS n, ", columns="n.parent_id AS pid, n.id AS nid, ")
    op.execute(
        "INSERT INTO metadata_index (parent_id, path, rank, num, txt, node_id) "
        f"SELECT pid, path, rank, num, txt, nid FROM ({rows}) WHERE pid IS NOT NULL"
    )
    op.execute(
        "INSERT INTO nodes_fts (rowid, text) "
        f"SELECT n.id, {_sqlite_document('n.metadata')} FROM nodes AS n WHERE n.parent_id IS NOT NULL"
    )
    op.execute(
        "INSERT INTO node_counts (node_id, children) "
        "SELECT parent_id, count(*) FROM nodes WHERE parent_id IS NOT NULL GROUP BY parent_id"
    )
    op.execute(
        "INSERT INTO key_counts (parent_id, path, nodes) "
        f"SELECT parent_id, path, count(*) FROM metadata_index WHERE rank < 10 "
        "GROUP BY parent_id, path"
    )


# -- PostgreSQL ---------------------------------------------------------------------------


def _pg_escape(key: str) -> str:
    return f"replace(replace({key}, '\\', '\\\\'), '.', '\\.')"


def _pg_rank(value: str, base: int) -> str:
    return (
        f"({base} + CASE jsonb_typeof({value}) WHEN 'number' THEN 0 WHEN 'string' THEN 1 "
        f"WHEN 'boolean' THEN CASE WHEN {value} = 'true'::jsonb THEN 3 ELSE 2 END "
        "WHEN 'null' THEN 4 WHEN 'array' THEN 5 ELSE 6 END)::smallint"
    )


def _pg_value(value: str, base: int) -> str:
    num = f"CASE WHEN jsonb_typeof({value}) = 'number' THEN ({value})::numeric ELSE 0 END"
    txt = (
        f"CASE WHEN jsonb_typeof({value}) = 'string' "
        f"THEN left({value} #>> '{{}}', {PREFIX}) ELSE '' END"
    )
    return f"{_pg_rank(value, base)}, {num}, {txt}"


def _pg_index_rows() -> str:
    levels = []
    for level in range(1, DEPTH + 1):
        tables = [
            "jsonb_each(CASE WHEN jsonb_typeof(metadata) = 'object' THEN metadata "
            "ELSE '{}' END) AS e1"
        ]
        for j in range(2, level + 1):
            tables.append(
                f"jsonb_each(CASE WHEN jsonb_typeof(e{j - 1}.value) = 'object' "
                f"THEN e{j - 1}.value ELSE '{{}}' END) AS e{j}"
            )
        path = " || '.' || ".join(_pg_escape(f"e{j}.key") for j in range(1, level + 1))
        levels.append(f"SELECT {path} AS path, e{level}.value AS value FROM {', '.join(tables)}")
    walk = "\n      UNION ALL ".join(levels)
    return f"""
CREATE FUNCTION tiled_index_rows(metadata jsonb, specs jsonb)
RETURNS TABLE (path text, rank smallint, num numeric, txt text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  WITH walk AS MATERIALIZED (
      {walk}
  )
  SELECT w.path, {_pg_value('w.value', 0)}
  FROM walk AS w WHERE length(w.path) <= {MAX_PATH}
  UNION ALL
  SELECT DISTINCT w.path || '{SPEC_PATH}', {_pg_value('a.value', 10)}
  FROM walk AS w, jsonb_array_elements(
      CASE WHEN jsonb_typeof(w.value) = 'array' THEN w.value ELSE '[]' END) AS a(value)
  WHERE jsonb_typeof(a.value) NOT IN ('array', 'object') AND length(w.path) < {MAX_PATH}
  UNION ALL
  SELECT DISTINCT '{SPEC_PATH}', 11::smallint, 0::numeric, left(s ->> 'name', {PREFIX})
  FROM jsonb_array_elements(
      CASE WHEN jsonb_typeof(specs) = 'array' THEN specs ELSE '[]' END) AS s
  WHERE jsonb_typeof(s -> 'name') = 'string'
$$
"""


_PG_DOCUMENT = f"""
CREATE FUNCTION tiled_fulltext_document(metadata jsonb) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE COST 5000 AS $$
  SELECT to_tsvector('simple'::regconfig, regexp_replace(left(coalesce(
      (SELECT string_agg(v #>> '{{}}', ' ')
       FROM jsonb_path_query(metadata, 'strict $.**') AS v
       WHERE jsonb_typeof(v) = 'string'), ''), {MAX_DOCUMENT}), '[^[:alnum:]]+', ' ', 'g'))
$$
"""

_PG_CHANGED = (
    "(o.metadata IS DISTINCT FROM n.metadata OR o.specs IS DISTINCT FROM n.specs "
    "OR o.parent_id IS DISTINCT FROM n.parent_id)"
)

# Index rows are computed once per statement; a data-modifying CTE hands them on to the
# key counts. Counts are upserted in key order so concurrent writers lock alike.
_PG_FULLTEXT_INDEX = """
DO $$
BEGIN
  BEGIN
    CREATE EXTENSION IF NOT EXISTS btree_gin;
  EXCEPTION WHEN undefined_file OR insufficient_privilege OR feature_not_supported THEN
    RAISE NOTICE 'btree_gin unavailable: full-text index without parent_id';
  END;
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'btree_gin') THEN
    CREATE INDEX ix_nodes_fulltext ON nodes USING gin (parent_id, fulltext);
  ELSE
    CREATE INDEX ix_nodes_fulltext ON nodes USING gin (fulltext);
  END IF;
END
$$
"""

_PG_ADD = """
  WITH added AS (
    INSERT INTO metadata_index (parent_id, path, rank, num, txt, node_id)
      SELECT n.parent_id, r.path, r.rank, r.num, r.txt, n.id
      FROM {nodes}, tiled_index_rows(n.metadata, n.specs) AS r
      WHERE n.parent_id IS NOT NULL {where}
    RETURNING parent_id, path, rank
  )
  INSERT INTO key_counts (parent_id, path, nodes)
    SELECT parent_id, path, count(*) FROM added WHERE rank < 10
    GROUP BY parent_id, path ORDER BY parent_id, path
  ON CONFLICT (parent_id, path) DO UPDATE SET nodes = key_counts.nodes + excluded.nodes;
"""
# As on SQLite, a node's rows are recomputed from its old metadata and deleted by key:
# the table needs no second index on node_id (which would also tempt the planner to walk
# it in node order instead of sorting a few matches).
_PG_REMOVE = """
  WITH removed AS (
    DELETE FROM metadata_index AS m USING {nodes}, tiled_index_rows(o.metadata, o.specs) AS r
      WHERE m.parent_id = o.parent_id AND m.path = r.path AND m.rank = r.rank
        AND m.num = r.num AND m.txt = r.txt AND m.node_id = o.id
        AND o.parent_id IS NOT NULL {where}
    RETURNING m.parent_id, m.path, m.rank
  )
  UPDATE key_counts AS k SET nodes = k.nodes - d.removed
    FROM (SELECT parent_id, path, count(*) AS removed FROM removed WHERE rank < 10
          GROUP BY parent_id, path) AS d
    WHERE k.parent_id = d.parent_id AND k.path = d.path;
"""
_PG_CHILDREN_ADD = """
  INSERT INTO node_counts (node_id, children)
    SELECT parent_id, count(*) FROM {nodes}
    WHERE parent_id IS NOT NULL {where} GROUP BY parent_id ORDER BY parent_id
  ON CONFLICT (node_id) DO UPDATE SET children = node_counts.children + excluded.children;
"""
_PG_CHILDREN_REMOVE = """
  UPDATE node_counts AS c SET children = c.children - d.removed
    FROM (SELECT parent_id, count(*) AS removed FROM {nodes}
          WHERE parent_id IS NOT NULL {where} GROUP BY parent_id) AS d
    WHERE c.node_id = d.parent_id;
"""
_MOVED = "AND o.parent_id IS DISTINCT FROM n.parent_id"

_PG_TRIGGERS = {
    "insert": (
        "NEW TABLE AS new_nodes",
        _PG_ADD.format(nodes="new_nodes AS n", where="")
        + _PG_CHILDREN_ADD.format(nodes="new_nodes", where=""),
    ),
    "delete": (
        "OLD TABLE AS old_nodes",
        _PG_REMOVE.format(nodes="old_nodes AS o", where="")
        + _PG_CHILDREN_REMOVE.format(nodes="old_nodes", where=""),
    ),
    "update": (
        "OLD TABLE AS old_nodes NEW TABLE AS new_nodes",
        _PG_REMOVE.format(
            nodes="old_nodes AS o JOIN new_nodes AS n ON n.id = o.id", where=f"AND {_PG_CHANGED}"
        )
        + _PG_ADD.format(
            nodes="new_nodes AS n JOIN old_nodes AS o ON o.id = n.id", where=f"AND {_PG_CHANGED}"
        )
        + _PG_CHILDREN_REMOVE.format(
            nodes="(SELECT o.parent_id FROM old_nodes AS o JOIN new_nodes AS n ON n.id = o.id "
            f"WHERE true {_MOVED}) AS moved",
            where="",
        )
        + _PG_CHILDREN_ADD.format(
            nodes="(SELECT n.parent_id FROM old_nodes AS o JOIN new_nodes AS n ON n.id = o.id "
            f"WHERE true {_MOVED}) AS moved",
            where="",
        ),
    ),
}


def _upgrade_postgresql() -> None:
    op.execute(
        """
        CREATE TABLE metadata_index (
            parent_id integer NOT NULL,
            path text COLLATE "C" NOT NULL,
            rank smallint NOT NULL,
            num numeric NOT NULL,
            txt text COLLATE "C" NOT NULL,
            node_id integer NOT NULL
        )
        """
    )
    op.execute(
        """
        CREATE TABLE node_counts (
            node_id integer PRIMARY KEY REFERENCES nodes (id) ON DELETE CASCADE,
            children bigint NOT NULL
        )
        """
    )
    op.execute(
        """
        CREATE TABLE key_counts (
            parent_id integer NOT NULL,
            path text COLLATE "C" NOT NULL,
            nodes bigint NOT NULL,
            PRIMARY KEY (parent_id, path)
        )
        """
    )
    op.execute(_pg_index_rows())
    op.execute(_PG_DOCUMENT)
    # Backfill before the indexes exist: one sorted build is faster than row-by-row.
    op.execute(_PG_ADD.format(nodes="nodes AS n", where=""))
    op.execute(_PG_CHILDREN_ADD.format(nodes="nodes", where=""))
    op.execute(
        "CREATE INDEX ix_metadata_index_search "
        "ON metadata_index (parent_id, path, rank, num, txt, node_id)"
    )
    # The text search document is stored, so that testing a row while walking a listing
    # does not recompute it; the GIN index holds parent_id too (btree_gin, a trusted
    # contrib extension) so that a search finds only its container's matches.
    op.execute(
        "ALTER TABLE nodes ADD COLUMN fulltext tsvector "
        "GENERATED ALWAYS AS (tiled_fulltext_document(metadata)) STORED"
    )
    op.execute(_PG_FULLTEXT_INDEX)
    op.execute("CREATE INDEX ix_nodes_metadata ON nodes USING gin (metadata jsonb_path_ops)")
    op.execute("CREATE INDEX ix_nodes_parent_family ON nodes (parent_id, structure_family, id)")
    for name, (transition, body) in _PG_TRIGGERS.items():
        # jit off: the row estimates of json functions are huge, and compiling the
        # statement costs more than running it.
        op.execute(
            f"CREATE FUNCTION tiled_search_{name}() RETURNS trigger "
            f"LANGUAGE plpgsql SET jit = off AS $$\nBEGIN\n{body}\n  RETURN NULL;\nEND\n$$"
        )
        op.execute(
            f"CREATE TRIGGER nodes_search_{name} AFTER {name.upper()} ON nodes "
            f"REFERENCING {transition} FOR EACH STATEMENT "
            f"EXECUTE FUNCTION tiled_search_{name}()"
        )
