"""`tenantfix move-users`: move per-tenant users into public (global users), reversibly.

plan.py reads the project and the database and builds the plan (read-only); mapping.py decides
how each tenant user maps to a public user; execute.py runs it one transaction per schema;
undo.py reverses it from the backup tables and the map; proof.py checks the result.
"""
