"""Superset's configuration for this deployment, as its docs show: a file named by SUPERSET_CONFIG_PATH.

SECRET_KEY is not set here: Superset reads it from SUPERSET_SECRET_KEY (superset/config.py). The metadata database is
PostgreSQL, as the docs recommend for production, its URI from the environment.
"""

import os

SQLALCHEMY_DATABASE_URI = os.environ["SUPERSET_DATABASE_URI"]
