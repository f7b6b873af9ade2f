"""tenantfix inside Django: system checks that stop ``migrate_schemas`` before it breaks the database.

Add ``"tenantfix.django"`` to SHARED_APPS (or to INSTALLED_APPS only); it has no models and no
migrations. Its checks (tag ``tenantfix``) run tenantfix's rules on the loaded settings, app
registry and migration files; ``TF001`` is reported as ``tenantfix.E001``, a warning-level
``TF011`` as ``tenantfix.W011``. See :mod:`tenantfix.django.checks`. Django finds the AppConfig
(:class:`tenantfix.django.apps.TenantfixConfig`) by itself from 3.2 on.
"""

from __future__ import annotations
