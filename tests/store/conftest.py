from tests.databases import blank_database_url, database_url, postgres_url, store  # noqa: F401  (fixtures)
