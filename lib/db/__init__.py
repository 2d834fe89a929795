"""Database access: SQLAlchemy Core over psycopg 3, one transaction per unit of work."""

from lib.db.engine import dispose_engine, get_engine
from lib.db.transactions import TenantTx, database_reachable, tenant_transaction, unscoped_transaction

__all__ = [
    "TenantTx",
    "database_reachable",
    "dispose_engine",
    "get_engine",
    "tenant_transaction",
    "unscoped_transaction",
]
