"""The one settings module. Everything that differs between machines comes from the environment.

Unset variables give the embedded default: a SQLite file, in-process broker, channel layer and
cache, so `make run` works on a fresh machine. Production sets DATABASE_URL and REDIS_URL.
"""

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from kombu import Queue

from structforge.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("STRUCTFORGE_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DJANGO_DEBUG", False)
# The fallback key only serves the embedded default; the system check
# `structforge.W001` warns when it is used with DEBUG off.
INSECURE_DEFAULT_SECRET_KEY = "structforge-insecure-development-key-change-me"
SECRET_KEY = env_str("DJANGO_SECRET_KEY", INSECURE_DEFAULT_SECRET_KEY)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "channels",
    "guardian",
    "django_celery_beat",
    "structforge",
    "sharing",
    "workflows",
    "executions",
    "scheduling",
    "templates_app",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "structforge.urls"
ASGI_APPLICATION = "structforge.asgi.application"
WSGI_APPLICATION = "structforge.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            # Only with the pool off (DATABASE_POOL_MAX_SIZE=0): 0 closes a request's connection at
            # its end instead of keeping one open per thread.
            DATABASE_URL,
            conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
            conn_health_checks=True,
        )
    }
    if DATABASES["default"]["ENGINE"].endswith("postgresql"):
        options = DATABASES["default"].setdefault("OPTIONS", {})
        # A list query over many shared workflows crosses the JIT cost threshold, and compiling
        # it costs more than running it (docs/benchmarks.md, Permissions).
        options["options"] = "-c jit=off"
        # Values sent apart from the query, and a query a connection repeats prepared: PostgreSQL
        # skips parsing and planning it (docs/operations.md, for poolers in transaction mode).
        if env_bool("DATABASE_PREPARED_STATEMENTS", True):
            options["server_side_binding"] = True
            options["prepare_threshold"] = env_int("DATABASE_PREPARE_THRESHOLD", 2)
        # A pool per process: a request (or a task) borrows a connection instead of opening one,
        # which costs more than most requests' queries, and the process never holds more than
        # max_size however many threads it runs. 0 turns it off (then DATABASE_CONN_MAX_AGE).
        pool_size = env_int("DATABASE_POOL_MAX_SIZE", 20)
        if pool_size > 0:
            options["pool"] = {"min_size": min(2, pool_size), "max_size": pool_size, "timeout": 10.0}
            DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "structforge.sqlite3",
            # WAL and a busy timeout let the in-process worker and the web server share the file.
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
LOGIN_URL = "/admin/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = True

# --- Redis: broker, cache, channel layer, live status ------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")

if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    # Publish/subscribe: a group message is one PUBLISH, pushed at once to the web processes
    # that subscribed for their clients, and a web process subscribes again when its connection
    # comes back, so a Redis restart loses nothing about who listens (the stored groups of
    # channels_redis.core are lost with it, and its consumers die). Redis publish/subscribe
    # ignores database numbers, so the prefix carries the URL's.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [{"address": REDIS_URL}],
                "prefix": "asgi" + urlsplit(REDIS_URL).path.replace("/", ":"),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Celery -----------------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL or "memory://"
if CELERY_BROKER_URL.startswith("redis://"):
    CELERY_BROKER_TRANSPORT = "structforge.broker:Transport"
# No StructForge task returns a result (PostgreSQL holds every outcome), so by default there is
# no result backend: Celery builds one per thread that sends a message (each web request thread,
# each worker). The benchmarks' raw-Celery baselines set one.
CELERY_RESULT_BACKEND = env_str("STRUCTFORGE_CELERY_RESULT_BACKEND", "") or None
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes the database connection around every task unless told to reuse
# it; workers keep theirs (structforge.db.keep_connection) and renew it every this many tasks.
CELERY_DB_REUSE_MAX = env_int("STRUCTFORGE_WORKER_DB_REUSE_MAX", 1000)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A prefix lets several deployments (or test runs) share one Redis without taking each other's work.
STRUCTFORGE_QUEUE_PREFIX = env_str("STRUCTFORGE_QUEUE_PREFIX", "")
CELERY_TASK_QUEUES = (Queue(f"{STRUCTFORGE_QUEUE_PREFIX}high"), Queue(f"{STRUCTFORGE_QUEUE_PREFIX}normal"))
CELERY_TASK_DEFAULT_QUEUE = f"{STRUCTFORGE_QUEUE_PREFIX}normal"
# django-celery-beat's DatabaseScheduler (system periodic tasks, editable in the admin) plus a
# timing wheel for user schedules (scheduling/beat.py, docs/scheduling.md).
CELERY_BEAT_SCHEDULER = "scheduling.beat:StructForgeScheduler"
# A message a worker took but did not acknowledge (the worker died) goes back to the queue after
# this long. Runs that last longer are not harmed: a second delivery of a run whose worker still
# heartbeats is dropped (executions/engine.py).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Check the queues in the order declared, `high` before `normal`, on every fetch
    # (kombu's default rotates them for fairness, which would make priority a coin toss).
    "queue_order_strategy": "priority",
    "visibility_timeout": env_int("STRUCTFORGE_BROKER_VISIBILITY_TIMEOUT_S", 3600),
    "unacked_restore_interval": env_int("STRUCTFORGE_BROKER_RESTORE_INTERVAL_S", 10),
    "unacked_restore_throttle": env_int("STRUCTFORGE_BROKER_RESTORE_THROTTLE", 10),
}

# --- REST API ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "sharing.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "structforge.api.PageNumberPagination",
    "PAGE_SIZE": env_int("STRUCTFORGE_PAGE_SIZE", 50),
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "structforge.api.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "login": env_str("STRUCTFORGE_LOGIN_THROTTLE", "20/min"),
        "share_link": env_str("STRUCTFORGE_SHARE_LINK_THROTTLE", "60/min"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
REST_KNOX = {
    "AUTH_HEADER_PREFIX": "Token",
    "TOKEN_TTL": timedelta(hours=env_int("STRUCTFORGE_TOKEN_TTL_HOURS", 24 * 30)),
    "AUTO_REFRESH": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "StructForge API",
    "DESCRIPTION": "Workflows, versions, executions, schedules, sharing and templates.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "ExecutionStatusEnum": "executions.models.ExecutionStatus",
        "NodeRunStatusEnum": "executions.models.NodeRunStatus",
        "RoleEnum": "sharing.roles.Role",
        "ShareRoleEnum": "sharing.roles.SHAREABLE_ROLES",
        "LinkRoleEnum": "sharing.roles.LINK_ROLES",
    },
}

# django-guardian: object permissions only for real users.
ANONYMOUS_USER_NAME = None
GUARDIAN_MONKEY_PATCH_USER = False
GUARDIAN_MONKEY_PATCH_GROUP = False

# --- StructForge knobs --------------------------------------------------------------------------
STRUCTFORGE_MAX_RUNNING = env_int("STRUCTFORGE_MAX_RUNNING", 100)
STRUCTFORGE_USER_MAX_RUNNING = env_int("STRUCTFORGE_USER_MAX_RUNNING", 20)
STRUCTFORGE_USER_MAX_EXECUTIONS_PER_DAY = env_int("STRUCTFORGE_USER_MAX_EXECUTIONS_PER_DAY", 100_000)
STRUCTFORGE_USER_MAX_WORKFLOWS = env_int("STRUCTFORGE_USER_MAX_WORKFLOWS", 10_000)
STRUCTFORGE_MAX_RECOVERIES = env_int("STRUCTFORGE_MAX_RECOVERIES", 3)
STRUCTFORGE_EXECUTION_RETENTION_DAYS = env_int("STRUCTFORGE_EXECUTION_RETENTION_DAYS", 30)
STRUCTFORGE_DB_RETRY_S = env_float("STRUCTFORGE_DB_RETRY_S", 60.0)
STRUCTFORGE_VERSION_RETENTION = env_int("STRUCTFORGE_VERSION_RETENTION", 50)
STRUCTFORGE_HTTP_ALLOWED_NETWORKS = env_list("STRUCTFORGE_HTTP_ALLOWED_NETWORKS", [])
STRUCTFORGE_SYNC_WAIT_S = env_float("STRUCTFORGE_SYNC_WAIT_S", 30.0)
# Threads of a web process that run requests (structforge.http): requests beyond this many wait
# for a free thread, and each running request holds one database connection from the pool.
STRUCTFORGE_WEB_THREADS = env_int("STRUCTFORGE_WEB_THREADS", 8)
STRUCTFORGE_MAX_NODES = env_int("STRUCTFORGE_MAX_NODES", 10_000)
STRUCTFORGE_MAX_EDGES = env_int("STRUCTFORGE_MAX_EDGES", 50_000)
STRUCTFORGE_MAX_DEFINITION_BYTES = env_int("STRUCTFORGE_MAX_DEFINITION_BYTES", 5 * 1024 * 1024)
STRUCTFORGE_SECRETS_KEYS = env_list("STRUCTFORGE_SECRETS_KEYS", [])
STRUCTFORGE_STANDALONE_WORKERS = env_int("STRUCTFORGE_STANDALONE_WORKERS", 4)
STRUCTFORGE_NODE_THREADS = env_int("STRUCTFORGE_NODE_THREADS", 8)
STRUCTFORGE_HEARTBEAT_S = env_float("STRUCTFORGE_HEARTBEAT_S", 5.0)
STRUCTFORGE_HEARTBEAT_STALE_S = env_float("STRUCTFORGE_HEARTBEAT_STALE_S", 30.0)
# How long a worker process that ran out of new runs waits for more before its wake-up ends
# (executions/dispatch.py): runs submitted meanwhile reach it without a Celery message. Its pool
# slot is taken meanwhile, so the worker's other messages (a delayed run due) wait up to this long.
STRUCTFORGE_WORKER_LINGER_S = env_float("STRUCTFORGE_WORKER_LINGER_S", 0.25)
STRUCTFORGE_PARK_THRESHOLD_S = env_float("STRUCTFORGE_PARK_THRESHOLD_S", 5.0)
STRUCTFORGE_MAX_SUBWORKFLOW_DEPTH = env_int("STRUCTFORGE_MAX_SUBWORKFLOW_DEPTH", 5)
STRUCTFORGE_NODE_LOG_LINES = env_int("STRUCTFORGE_NODE_LOG_LINES", 100)
STRUCTFORGE_HTTP_MAX_RESPONSE_BYTES = env_int("STRUCTFORGE_HTTP_MAX_RESPONSE_BYTES", 10 * 1024 * 1024)
STRUCTFORGE_EXECUTION_TIMEOUT_S = env_float("STRUCTFORGE_EXECUTION_TIMEOUT_S", 3600.0)

# --- Scheduling (scheduling/, docs/scheduling.md) -----------------------------------------------
# Most schedules the workflows of one owner may have.
STRUCTFORGE_USER_MAX_SCHEDULES = env_int("STRUCTFORGE_USER_MAX_SCHEDULES", 100)
# How often beat reads schedule changes (an indexed `updated_at` query), and how often it sweeps
# the whole table in small batches as a backstop.
STRUCTFORGE_SCHEDULER_SYNC_S = env_float("STRUCTFORGE_SCHEDULER_SYNC_S", 0.5)
STRUCTFORGE_SCHEDULER_SWEEP_S = env_float("STRUCTFORGE_SCHEDULER_SWEEP_S", 600.0)
# A run reached later than this after its time was missed: the schedule's misfire policy decides.
STRUCTFORGE_SCHEDULE_MISFIRE_GRACE_S = env_float("STRUCTFORGE_SCHEDULE_MISFIRE_GRACE_S", 60.0)
# Most runs waiting behind a running one, per schedule, with overlap_policy "queue".
STRUCTFORGE_SCHEDULE_QUEUE_LIMIT = env_int("STRUCTFORGE_SCHEDULE_QUEUE_LIMIT", 10)
# Fire records (which occurrence started which execution) older than this are deleted.
STRUCTFORGE_SCHEDULE_FIRE_RETENTION_DAYS = env_int("STRUCTFORGE_SCHEDULE_FIRE_RETENTION_DAYS", 30)
# /healthz reports the scheduler down when it has not ticked for this long.
STRUCTFORGE_SCHEDULER_STALE_S = env_float("STRUCTFORGE_SCHEDULER_STALE_S", 30.0)

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "structforge@localhost")
# For EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend.
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))

DATA_UPLOAD_MAX_MEMORY_SIZE = STRUCTFORGE_MAX_DEFINITION_BYTES + 1024 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # httpx logs every request URL at INFO, query string included: where API keys tend to be.
    "loggers": {"httpx": {"level": "WARNING"}, "httpcore": {"level": "WARNING"}},
}
