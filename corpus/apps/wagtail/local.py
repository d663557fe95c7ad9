# mysite/settings/local.py: what the team adds to `wagtail start`'s project for its deployment. Both settings
# modules (production and dev) import it last, so the environment decides the secret and the hosts.
import os

from .base import MIDDLEWARE

SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
ALLOWED_HOSTS = os.environ["DJANGO_ALLOWED_HOSTS"].split(",")

# Static files served by the app itself, as Wagtail's deployment docs suggest with WhiteNoise.
MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")
