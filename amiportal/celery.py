import os

from celery import Celery

from amiportal.profiles import settings_module

os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module())

app = Celery("amiportal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
