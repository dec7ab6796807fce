"""Connection pool sizing, apart from the engine code, so that settings and the
command line can name it without loading SQLAlchemy and Alembic."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_CONNECTION_BUDGET = 40


@dataclass(frozen=True)
class PoolSettings:
    """Connections one server process may hold, and how long to wait for one.

    Every process has its own pool, so the total a deployment opens is the per-process
    figure times the number of processes: :meth:`for_workers` divides a budget (keep it
    below PostgreSQL's ``max_connections`` minus what indexers and admins need).
    """

    size: int = 5
    max_overflow: int = 5
    timeout: float = 5.0  # waiting for a free connection; then 503, not a hang
    connect_timeout: float = 5.0  # an unreachable host fails fast too

    @classmethod
    def for_workers(cls, workers: int, budget: int = DEFAULT_CONNECTION_BUDGET) -> PoolSettings:
        if workers < 1 or budget < 1:
            raise ValueError("workers and the connection budget must be at least 1")
        share = max(2, budget // workers)
        size = max(1, (share * 2) // 3)
        return cls(size=size, max_overflow=share - size)
