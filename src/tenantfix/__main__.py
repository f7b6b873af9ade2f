from __future__ import annotations

from tenantfix.cli import main

if __name__ == "__main__":
    main()
