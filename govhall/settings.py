"""Settings for govhall, read from environment variables only.

With no environment at all the platform runs on an embedded SQLite database under ``./var/``
with a development secret generated there on first run. ``DATABASE_URL`` switches to PostgreSQL.
"""

import base64
import os
import secrets
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("GOVHALL_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _list(name: str, default: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


def _development_secret() -> str:
    """A per-checkout secret kept in ./var/, never in the repository."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def _development_data_keys() -> tuple[str, str]:
    """A per-checkout key ring for personal data, kept in ./var/ (production sets the variables)."""
    path = VAR_DIR / "data_keys"
    if not path.exists():
        encoded = base64.b64encode(secrets.token_bytes(32)).decode()
        index = base64.b64encode(secrets.token_bytes(32)).decode()
        path.write_text(f"dev1:{encoded}\n{index}\n")
        path.chmod(0o600)
    keys, index = path.read_text().split()
    return keys, index


DEBUG = _flag("DEBUG")
SECRET_KEY = os.environ.get("SECRET_KEY") or _development_secret()
ALLOWED_HOSTS = _list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = _list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",
    "django_tasks",
    "django_tasks_db",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "oauth2_provider",
    "govhall.audit",
    "govhall.org",
    "govhall.accounts",
    "govhall.notices",
    "govhall.catalog",
    "govhall.cases",
    "govhall.licences",
    "govhall.evaluations",
    "govhall.supervision",
    "govhall.metrics",
    "govhall.portal",
    "govhall.workbench",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "govhall.request_limits.RequestSizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "govhall.accounts.totp.SecondFactorRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "govhall.accounts.middleware.SessionExpiryMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "govhall.portal.middleware.ElderModeMiddleware",
]

ROOT_URLCONF = "govhall.urls"
WSGI_APPLICATION = "govhall.wsgi.application"

TEMPLATES = [
    {
        # Django's engine, each render's context let go of once the page is rendered (ADR 31).
        "BACKEND": "govhall.template_backend.DjangoTemplates",
        "NAME": "django",
        "DIRS": [BASE_DIR / "govhall" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "govhall.portal.context_processors.portal",
            ],
            # Django's i18n library, with constant messages translated once per language.
            "libraries": {"i18n": "govhall.portal.templatetags.kept_i18n"},
        },
    },
]
# Form fields: Django's own form templates, the commonest rendered by Python (ADR 24).
FORM_RENDERER = "govhall.form_rendering.FormRenderer"
# The warning that a library name (here i18n, above) is given to two modules. A test keeps it
# for any other name (tests/portal/test_kept_i18n.py).
SILENCED_SYSTEM_CHECKS = ["templates.W003"]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'govhall.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process and the task worker read while the other writes.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and _flag("DATABASE_PREPARED", default=True):
    # Parameters bound by the server, and a statement a connection runs again and again is
    # prepared (psycopg's default: after five runs), so PostgreSQL stops planning it each time:
    # the joins of a case read cost 1-3 ms of planning against well under 1 ms of execution
    # (ADR 0008). DATABASE_PREPARED=0 behind a pooler in transaction mode that cannot keep
    # prepared statements.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"server_side_binding": True, "prepare_threshold": 5})
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Parallel query off for the platform's own connections (ADR 0010): every request is one
    # of many at once, and a statement that took two more processes to finish a little sooner
    # left the other requests less of the machine (a broad search's ranking used three
    # processes for 57 ms where one took 50-55 ms). DATABASE_PARALLEL_WORKERS=N allows N; options
    # given in DATABASE_URL come after, so a setting there wins.
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = (
        f"-c max_parallel_workers_per_gather={int(os.environ.get('DATABASE_PARALLEL_WORKERS', '0'))} "
        + _options.get("options", "")
    ).strip()
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and _flag("DATABASE_POOL"):
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": int(os.environ.get("DATABASE_POOL_MIN", "1")),
        "max_size": int(os.environ.get("DATABASE_POOL_MAX", "4")),
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "govhall" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every start without it
# The site-wide stylesheet and icons live beside the site-wide templates, not in one app.
STATICFILES_DIRS = [BASE_DIR / "govhall" / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or _flag("GOVHALL_TESTING")
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG or _flag("GOVHALL_TESTING")

# The cache (rendered guide bodies, keyed by version so never stale). CACHE_URL=redis://… shares
# it between all web processes (production, the benchmark); without it each process keeps its
# own, bounded to 2,000 entries (about 10 KB per guide, some 20 MB per worker).
CACHES: dict[str, dict[str, Any]]
if os.environ.get("CACHE_URL", "").startswith(("redis://", "rediss://", "unix://")):
    CACHES = {
        "default": {
            # Django's RedisCache, keeping its Redis client (govhall/redis_cache.py).
            "BACKEND": "govhall.redis_cache.KeptClientRedisCache",
            "LOCATION": os.environ["CACHE_URL"],
            "KEY_PREFIX": "govhall",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "OPTIONS": {"MAX_ENTRIES": int(os.environ.get("GOVHALL_CACHE_ENTRIES", "2000"))},
        }
    }

TASKS = {
    "default": {
        "BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = _flag("SECURE_COOKIES")
CSRF_COOKIE_SECURE = _flag("SECURE_COOKIES")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if _flag("BEHIND_TLS_PROXY") else None
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "govhall.logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "jieba": {"level": "WARNING"},
    },
}

GOVHALL_PROVINCE_CODE = os.environ.get("GOVHALL_PROVINCE_CODE", "330000")

# Personal data encryption (govhall/accounts/privacy.py): "<id>:<base64 32 bytes>,..." and the
# id of the key new values are sealed with; the blind-index key is separate.
if os.environ.get("GOVHALL_DATA_KEYS"):
    GOVHALL_DATA_KEYS = os.environ["GOVHALL_DATA_KEYS"]
    GOVHALL_INDEX_KEY = os.environ["GOVHALL_INDEX_KEY"]
else:
    GOVHALL_DATA_KEYS, GOVHALL_INDEX_KEY = _development_data_keys()
GOVHALL_DATA_KEY_ID = os.environ.get("GOVHALL_DATA_KEY_ID", "")

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
if _flag("GOVHALL_TESTING"):
    # Hashing strength is not under test; a fast hasher keeps the suite fast.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# The population / legal-person registry adapter used to raise assurance to L2.
GOVHALL_IDENTITY_REGISTRY = os.environ.get("GOVHALL_IDENTITY_REGISTRY", "govhall.accounts.registry.DemoRegistry")

# Where SMS and e-mail go (govhall/notices/backends.py): the outbox by default, readable at /dev/outbox/.
GOVHALL_MESSAGE_BACKEND = os.environ.get("GOVHALL_MESSAGE_BACKEND", "govhall.notices.backends.OutboxBackend")


# --- Staff second factor (django-otp) and the OpenID Connect provider (django-oauth-toolkit) ---
# govhall/accounts/totp.py and govhall/accounts/oidc.py; docs/architecture.md describes the flow.
OTP_TOTP_ISSUER = os.environ.get("GOVHALL_OTP_ISSUER", "govhall")
# Each wrong code doubles the wait before the next try (seconds; django-otp's throttle).
OTP_TOTP_THROTTLE_FACTOR = 1


def _oidc_private_key() -> str:
    """The RSA key that signs ID tokens: from the environment in production, otherwise a
    per-checkout key generated into ./var/oidc.key on first run (never committed)."""
    if os.environ.get("OIDC_RSA_PRIVATE_KEY"):
        return os.environ["OIDC_RSA_PRIVATE_KEY"]
    path = VAR_DIR / "oidc.key"
    if not path.exists():
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        path.write_bytes(pem)
        path.chmod(0o600)
    return path.read_text()


# Shown on the consent page as they are: what the department system will learn.
OIDC_SCOPES = {
    "openid": _("确认您的身份（不含身份证号）"),
    "profile": _("您的姓名（部分隐去）"),
    "phone": _("您的手机号（部分隐去）"),
    "assurance": _("您的实名认证等级"),
    "company": _("您可代为办事的企业名称和统一社会信用代码"),
    # Department systems only (client credentials): look licences up by holder and type.
    "licences": _("按持证主体查询电子证照（部门系统）"),
}
# Named so that models pointing at it (licences' look-up clients) resolve the swappable model.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": _oidc_private_key(),
    # Empty: the issuer is this site's address + /o; production sets the public address.
    "OIDC_ISS_ENDPOINT": os.environ.get("GOVHALL_OIDC_ISSUER", ""),
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
    "OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT": True,
    "PKCE_REQUIRED": True,
    "ROTATE_REFRESH_TOKEN": True,
    # A refresh token used twice revokes its whole family: one of the two users is a thief.
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ACCESS_TOKEN_EXPIRE_SECONDS": 600,
    "REFRESH_TOKEN_EXPIRE_SECONDS": 12 * 3600,
    "ID_TOKEN_EXPIRE_SECONDS": 600,
    "OAUTH2_VALIDATOR_CLASS": "govhall.accounts.oidc.GovhallOAuth2Validator",
    "SCOPES": OIDC_SCOPES,
    "DEFAULT_SCOPES": ["openid"],
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https", "http"] if DEBUG or _flag("GOVHALL_TESTING") else ["https"],
    # The OAuth 2.0 Security Best Current Practice (RFC 9700), which django-oauth-toolkit leaves
    # off until its 4.0 (docs/adr/0023): no implicit or password grant, PKCE by S256 only, an
    # access token only in the Authorization header (never in an address, which logs keep),
    # `iss` in every authorization response (RFC 9207), and tokens kept as their SHA-256 only,
    # so that a copy of the database holds no usable token.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    # … and `manage.py check --deploy` fails, not warns, on a setting that breaks it.
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
}
# The key of the pairwise subject identifiers: two clients must not be able to join their users.
GOVHALL_OIDC_SUBJECT_KEY = os.environ.get("GOVHALL_OIDC_SUBJECT_KEY") or f"{SECRET_KEY}:oidc-subject"
# Where the authorization endpoint sends someone not logged in; empty: the citizen login when it
# exists, else LOGIN_URL (govhall/accounts/oidc.py).
GOVHALL_OIDC_LOGIN_URL = os.environ.get("GOVHALL_OIDC_LOGIN_URL", "")

# The API's answers that an endpoint writes with govhall.api_schema.answer, without ninja's
# validation against their response schema, are still validated and compared with what the
# schema writes (ADR 32) in the demo, the tests and wherever GOVHALL_CHECK_ANSWERS=1.
GOVHALL_CHECK_ANSWERS = _flag("GOVHALL_CHECK_ANSWERS") or DEBUG or _flag("GOVHALL_TESTING")

# Electronic licences (govhall/licences): where the platform CA's and the seals' keys are kept
# (files, mode 0600; never in the database), whether a department without a seal gets one on
# demand (the demo and the tests; production issues seals with `manage.py licence_seal_issue`),
# the font PDFs embed (Debian's fonts-wqy-microhei, installed by the Makefile) and the public
# address printed in licences' QR codes.
GOVHALL_PLATFORM_NAME = os.environ.get("GOVHALL_PLATFORM_NAME", "一体化在线政务服务平台")
GOVHALL_SEAL_DIR = Path(os.environ.get("GOVHALL_SEAL_DIR", VAR_DIR / "seals"))
GOVHALL_SEAL_AUTO_CREATE = _flag("GOVHALL_SEAL_AUTO_CREATE") or DEBUG or _flag("GOVHALL_TESTING")
GOVHALL_PDF_FONT = os.environ.get("GOVHALL_PDF_FONT", "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
# Days after the invitation to rate a closed case before the one reminder.
GOVHALL_EVALUATION_REMIND_AFTER_DAYS = int(os.environ.get("GOVHALL_EVALUATION_REMIND_AFTER_DAYS", "3"))
# Guide views are added up in each web worker and written together at most this often (0: at
# once, as the tests do), so that reading a guide does not commit a write of its own.
GOVHALL_VIEW_COUNT_FLUSH_SECONDS = float(
    os.environ.get("GOVHALL_VIEW_COUNT_FLUSH_SECONDS", "0" if _flag("GOVHALL_TESTING") else "10")
)
# The audit chain is written in this many lanes, each a hash chain of its own with its own lock,
# so that audited writes wait for each other only when every lane is held (ADR 29). Lowering it
# later leaves the higher lanes' records verifiable; they are just not extended.
_lanes = os.environ.get("GOVHALL_AUDIT_CHAIN_LANES", "16").strip()
if not (_lanes.isdigit() and 1 <= int(_lanes) <= 1000):
    raise ImproperlyConfigured(f"GOVHALL_AUDIT_CHAIN_LANES must be a whole number from 1 to 1000, not {_lanes!r}")
GOVHALL_AUDIT_CHAIN_LANES = int(_lanes)
GOVHALL_PUBLIC_URL = os.environ.get("GOVHALL_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
# The most a request's body may declare (Content-Length), files included; above it the request is
# refused before any of it is read (govhall.request_limits). A material is 20 MiB at most.
GOVHALL_REQUEST_MAX_BYTES = int(os.environ.get("GOVHALL_REQUEST_MAX_BYTES", str(100 * 1024 * 1024)))
