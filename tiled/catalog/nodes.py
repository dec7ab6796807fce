"""The catalog: a tree of nodes with their data sources, in SQLite or PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..errors import (
    ConflictError,
    NotFoundError,
    UnsupportedOperationError,
)
from ..queries import Query
from ..structures.core import Spec, StructureFamily
from ..structures.data_source import DataSource
from . import orm
from .connections import Connections
from .database import PoolSettings, check_database, create_engine, initialize_database
from .listing import Listing, SearchPage
from .loading import load_record_at, record_at, records_where
from .records import AssetStat, NodeRecord, Revision, check_key, join_path
from .records import structure_id as compute_structure_id
from .search import SearchDialect, dialect_for
from .subtree import delete_subtree

if TYPE_CHECKING:
    from ..registration.model import Change, Outcome, Registered


class Catalog:
    """Async access to one catalog database. Every write is a single transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.connections = Connections(engine)
        self.search_dialect: SearchDialect = dialect_for(engine.dialect.name)

    @classmethod
    async def connect(
        cls, uri: str, *, init: bool = False, pool: PoolSettings | None = None
    ) -> Catalog:
        if init:
            await initialize_database(uri)
        else:
            await check_database(uri)
        return cls(create_engine(uri, pool=pool))

    async def close(self) -> None:
        self.connections.close()
        await self.engine.dispose()

    # -- reading -------------------------------------------------------------------------

    async def lookup(self, path: Sequence[str]) -> NodeRecord:
        """The node at ``path`` in one indexed query, whatever the depth."""
        record = await self.connections.read(record_at, join_path(tuple(path)))
        if record is None:
            raise NotFoundError(f"No such entry: {list(path)}")
        return record

    async def _lookup(self, conn: AsyncConnection, path: tuple[str, ...]) -> NodeRecord:
        record = await load_record_at(conn, join_path(path))
        if record is None:
            raise NotFoundError(f"No such entry: {list(path)}")
        return record

    async def _container_id(self, conn: AsyncConnection, path: tuple[str, ...]) -> int:
        row = (
            await conn.execute(
                select(orm.Node.id, orm.Node.structure_family).where(
                    orm.Node.path == join_path(path)
                )
            )
        ).first()
        if row is None:
            raise NotFoundError(f"No such entry: {list(path)}")
        if row.structure_family != StructureFamily.container.value:
            raise UnsupportedOperationError(
                f"The node {join_path(path)!r} is an {row.structure_family}, not a container"
            )
        return int(row.id)

    def _listing(
        self,
        conn: Connection,
        path: Sequence[str],
        queries: Sequence[Query],
        sorting: Sequence[tuple[str, int]],
    ) -> Listing:
        """The container at ``path`` and its child count, in one indexed query."""
        node, counts = orm.Node, orm.NodeCount
        statement = (
            select(node.id, node.structure_family, func.coalesce(counts.children, 0))
            .outerjoin(counts, counts.node_id == node.id)
            .where(node.path == join_path(tuple(path)))
        )
        row = conn.execute(statement).first()
        if row is None:
            raise NotFoundError(f"No such entry: {list(path)}")
        if row[1] != StructureFamily.container.value:
            raise UnsupportedOperationError(
                f"The node {join_path(tuple(path))!r} is an {row[1]}, not a container"
            )
        return Listing(conn, self.search_dialect, int(row[0]), queries, sorting, total=int(row[2]))

    async def page(
        self,
        path: Sequence[str],
        *,
        queries: Sequence[Query] = (),
        sorting: Sequence[tuple[str, int]] = (),
        limit: int = 100,
        offset: int = 0,
        cursor: str | None = None,
    ) -> SearchPage:
        """One page of the direct children matching every query, with the exact count.

        ``sorting`` pairs dotted metadata keys with 1 or -1 (``""`` is insertion order);
        ``cursor`` is the ``next_cursor`` of the previous page (see ``listing.py``).
        """

        def read(conn: Connection) -> SearchPage:
            listing = self._listing(conn, path, queries, sorting)
            try:
                count = listing.count()
                ids, following = listing.page(
                    limit=limit, offset=offset, cursor=cursor, count=count
                )
            except DBAPIError as err:
                raise self._query_error(err) from err
            records = records_where(conn, orm.Node.id.in_(ids)) if ids else []
            by_id = {record.id: record for record in records}
            return SearchPage([by_id[i] for i in ids], count, following)

        return await self.connections.read(read)

    def _query_error(self, error: DBAPIError) -> Exception:
        translated = self.search_dialect.translate_error(error)
        return translated if translated is not None else error

    async def search(
        self,
        path: Sequence[str],
        *,
        queries: Sequence[Query] = (),
        sorting: Sequence[tuple[str, int]] = (),
        offset: int = 0,
        limit: int = 100,
    ) -> list[NodeRecord]:
        """Direct children matching every query, sorted, one page (see ``page``)."""
        found = await self.page(path, queries=queries, sorting=sorting, offset=offset, limit=limit)
        return found.records

    async def count(self, path: Sequence[str], *, queries: Sequence[Query] = ()) -> int:

        def read(conn: Connection) -> int:
            listing = self._listing(conn, path, queries, ())
            try:
                return listing.count()
            except DBAPIError as err:
                raise self._query_error(err) from err

        return await self.connections.read(read)

    # -- writing -------------------------------------------------------------------------

    async def create_node(
        self,
        parent_path: Sequence[str],
        *,
        key: str | None,
        structure_family: StructureFamily,
        metadata: dict[str, Any],
        specs: Sequence[Spec],
        data_sources: Sequence[DataSource] = (),
        asset_stats: Mapping[str, AssetStat] | None = None,
    ) -> NodeRecord:
        """Create one node with its data sources and assets, all or nothing."""
        parent_path = tuple(parent_path)
        key = check_key(key if key is not None else uuid.uuid4().hex)
        path = (*parent_path, key)
        async with self.connections.writing() as conn:
            parent_id = await self._container_id(conn, parent_path)
            try:
                node_id = (
                    await conn.execute(
                        insert(orm.Node)
                        .values(
                            parent_id=parent_id,
                            key=key,
                            path=join_path(path),
                            structure_family=StructureFamily(structure_family).value,
                            metadata_=metadata,
                            specs=[s.to_json() for s in specs],
                        )
                        .returning(orm.Node.id)
                    )
                ).scalar_one()
            except IntegrityError as err:
                raise ConflictError("/" + join_path(path)) from err
            for data_source in data_sources:
                await self._insert_data_source(conn, node_id, data_source, asset_stats or {})
            return await self._lookup(conn, path)

    async def _insert_data_source(
        self,
        conn: AsyncConnection,
        node_id: int,
        data_source: DataSource,
        asset_stats: Mapping[str, AssetStat],
    ) -> None:
        structure_id = None
        if data_source.structure is not None:
            structure = data_source.structure.to_json()
            structure_id = compute_structure_id(structure)
            exists = await conn.execute(
                select(orm.Structure.id).where(orm.Structure.id == structure_id)
            )
            if exists.first() is None:
                # Another transaction may insert the same structure meanwhile (the id is
                # its content hash); a savepoint keeps that from failing this one.
                try:
                    async with conn.begin_nested():
                        await conn.execute(
                            insert(orm.Structure).values(id=structure_id, structure=structure)
                        )
                except IntegrityError:
                    pass
        data_source_id = (
            await conn.execute(
                insert(orm.DataSource)
                .values(
                    node_id=node_id,
                    structure_family=StructureFamily(data_source.structure_family).value,
                    structure_id=structure_id,
                    mimetype=data_source.mimetype,
                    parameters=data_source.parameters,
                    properties=data_source.properties,
                    management=data_source.management.value,
                )
                .returning(orm.DataSource.id)
            )
        ).scalar_one()
        for asset in data_source.assets:
            asset_id = await self._upsert_asset(conn, asset, asset_stats.get(asset.data_uri))
            await conn.execute(
                insert(orm.DataSourceAsset).values(
                    data_source_id=data_source_id,
                    asset_id=asset_id,
                    parameter=asset.parameter,
                    num=asset.num,
                )
            )

    async def _upsert_asset(self, conn: AsyncConnection, asset: Any, stat: AssetStat | None) -> int:
        size = stat.size if stat is not None else asset.size
        mtime_ns = stat.mtime_ns if stat is not None else None
        existing = (
            await conn.execute(select(orm.Asset.id).where(orm.Asset.data_uri == asset.data_uri))
        ).first()
        if existing is None:
            try:  # a concurrent registration of the same file may insert it first
                async with conn.begin_nested():
                    inserted = await conn.execute(
                        insert(orm.Asset)
                        .values(
                            data_uri=asset.data_uri,
                            is_directory=asset.is_directory,
                            size=size,
                            mtime_ns=mtime_ns,
                        )
                        .returning(orm.Asset.id)
                    )
                    return int(inserted.scalar_one())
            except IntegrityError:
                existing = (
                    await conn.execute(
                        select(orm.Asset.id).where(orm.Asset.data_uri == asset.data_uri)
                    )
                ).one()
        await conn.execute(
            update(orm.Asset)
            .where(orm.Asset.id == existing.id)
            .values(size=size, mtime_ns=mtime_ns, is_directory=asset.is_directory)
        )
        return int(existing.id)

    async def update_metadata(
        self,
        path: Sequence[str],
        *,
        metadata: dict[str, Any] | None = None,
        specs: Sequence[Spec] | None = None,
        keep_revision: bool = True,
    ) -> NodeRecord:
        """Replace metadata and/or specs (None keeps them); the old state becomes a revision."""
        path = tuple(path)
        async with self.connections.writing() as conn:
            current = await self._lookup(conn, path)
            if keep_revision:
                latest = (
                    await conn.execute(
                        select(func.max(orm.Revision.revision_number)).where(
                            orm.Revision.node_id == current.id
                        )
                    )
                ).scalar_one()
                await conn.execute(
                    insert(orm.Revision).values(
                        node_id=current.id,
                        revision_number=(latest or 0) + 1,
                        metadata_=current.metadata,
                        specs=[s.to_json() for s in current.specs],
                        time_updated=current.time_updated,
                    )
                )
            values: dict[str, Any] = {"time_updated": datetime.now(UTC)}
            if metadata is not None:
                values["metadata_"] = metadata
            if specs is not None:
                values["specs"] = [s.to_json() for s in specs]
            await conn.execute(update(orm.Node).where(orm.Node.id == current.id).values(**values))
            return await self._lookup(conn, path)

    async def revisions(
        self, path: Sequence[str], *, offset: int = 0, limit: int = 100
    ) -> tuple[list[Revision], int]:
        async with self.connections.reading() as conn:
            node = await self._lookup(conn, tuple(path))
            where = orm.Revision.node_id == node.id
            total = (
                await conn.execute(select(func.count()).select_from(orm.Revision).where(where))
            ).scalar_one()
            rows = await conn.execute(
                select(orm.Revision)
                .where(where)
                .order_by(orm.Revision.revision_number)
                .offset(offset)
                .limit(limit)
            )
            revisions = [
                Revision(
                    r.revision_number,
                    r.metadata,
                    [Spec.from_json(s) for s in r.specs],
                    r.time_updated,
                )
                for r in rows
            ]
            return revisions, int(total)

    async def delete(self, path: Sequence[str], *, recursive: bool = False) -> None:
        """Remove a node (and, with ``recursive``, its subtree); files are never touched."""
        path = tuple(path)
        if not path:
            raise UnsupportedOperationError("The root of the catalog cannot be deleted")
        prefix = join_path(path)
        async with self.connections.writing() as conn:
            node = await self._lookup(conn, path)
            if node.child_count and not recursive:
                raise ConflictError(
                    "Cannot delete a node that is not empty. Delete its contents first or "
                    "pass `recursive=True`."
                )
            await delete_subtree(conn, prefix)

    # -- indexing: many nodes at a time (see bulk.py) -----------------------------------

    async def registered_under(self, prefix: Sequence[str]) -> AsyncIterator[Registered]:
        """Every node below ``prefix`` (any depth, key paths relative to it), parents
        first, each with the fingerprint of its assets; streamed a page at a time."""
        from .fingerprints import registered_under

        async for registered in registered_under(self.connections, prefix):
            yield registered

    async def apply(self, prefix: Sequence[str], changes: Sequence[Change]) -> list[Outcome]:
        """Apply puts and removes below ``prefix`` in order, in ONE transaction.

        A change the catalog refuses (bad key, missing parent, key taken, no such node)
        fails alone with its status and message; the others are committed. The prefix
        must exist (NotFoundError otherwise).
        """
        from .bulk import apply_changes
        from .collector import batch_collection

        if not changes:
            await self._container_id_checked(tuple(prefix))
            return []
        with batch_collection():
            async with self.connections.writing() as conn:
                return await apply_changes(conn, prefix, changes)

    async def _container_id_checked(self, path: tuple[str, ...]) -> int:
        async with self.connections.reading() as conn:
            return await self._container_id(conn, path)

    async def distinct(
        self,
        path: Sequence[str],
        *,
        metadata_keys: Sequence[str],
        structure_families: bool,
        specs: bool,
        counts: bool,
        queries: Sequence[Query] = (),
    ) -> dict[str, Any]:
        """Distinct metadata values, families and spec lists among matching children."""
        from .distinct import distinct_values

        def read(conn: Connection) -> dict[str, Any]:
            return distinct_values(
                self._listing(conn, path, queries, ()),
                metadata_keys=metadata_keys,
                structure_families=structure_families,
                specs=specs,
                counts=counts,
            )

        return await self.connections.read(read)
