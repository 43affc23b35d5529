# Read by gunicorn from the directory it starts in (the Procfile's web process, production).
# The access log never shows a credential sent in a URL: amiportal/gunicorn_logging.py.
logger_class = "amiportal.gunicorn_logging.RedactingLogger"
