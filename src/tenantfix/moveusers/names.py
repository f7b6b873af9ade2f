"""Names move-users writes: public's schema, its record tables, the backup suffix."""

from __future__ import annotations

PUBLIC = "public"
BACKUP_SUFFIX = "__tenantfix_backup"
MAP_TABLE = "tenantfix_user_map"
LOG_TABLE = "tenantfix_user_move_log"


def backup_name(table: str) -> str:
    return table + BACKUP_SUFFIX
