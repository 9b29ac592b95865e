"""The only place with SQL: models, queries and Alembic migrations."""
