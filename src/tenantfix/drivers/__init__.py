"""Scripts that run in the project's interpreter (by path; they import nothing from tenantfix)."""
