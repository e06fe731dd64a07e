from tests.databases import blank_database_url, database_url, postgres_url  # noqa: F401  (fixtures)
