"""What dev-mode error pages, stack traces, SQL errors and debug endpoints look like, one row per
framework signal. Adding a framework is adding a row: its markers (regexes that must all match), what a
match proves, the setting that turns it off, and where the fingerprint comes from.

`tests/test_debug_fingerprints.py` runs every row against real pages: the live fixture apps for Flask,
Django, FastAPI/Starlette and Express, and excerpts in `tests/data/debug_pages/` (see its SOURCES.md)
for the frameworks that cannot run in the test environment.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Signal = Literal["interactive-debugger", "error-page", "stack-trace", "sql-error"]


@dataclass(frozen=True)
class Fingerprint:
    name: str
    framework: str
    signal: Signal
    markers: tuple[str, ...]
    proves: str
    setting: str
    source: str
    patterns: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "patterns", tuple(re.compile(m) for m in self.markers))

    def matches(self, text: str) -> re.Match[str] | None:
        """The first marker's match when every marker matches, else None."""
        found = [p.search(text) for p in self.patterns]
        return found[0] if all(found) else None


_WERKZEUG_SRC = "https://github.com/pallets/werkzeug/blob/main/src/werkzeug/debug/tbtools.py (HEADER, PAGE_HTML)"
_FLASK_OFF = "Flask: `app.run(debug=False)`, unset FLASK_DEBUG / drop `--debug`, serve with gunicorn or waitress"
_NODE_OFF = "NODE_ENV=production, and leave err.stack out of error responses"
_PY_OFF = ("turn off the framework's debug mode (Flask FLASK_DEBUG, Django DEBUG, FastAPI debug) and never return "
           "traceback.format_exc() to clients")

# Order matters inside a signal: the first matching row names the framework.
FINGERPRINTS: tuple[Fingerprint, ...] = (
    # --- interactive debuggers: code execution on the server ---
    Fingerprint("werkzeug-debugger", "Flask/Werkzeug", "interactive-debugger",
                (r"// Werkzeug Debugger</title>", r"EVALEX = true"),
                "the Werkzeug interactive debugger is on: its console runs Python on the server (the PIN is guessable "
                "from leaked machine facts and brute-forceable)", _FLASK_OFF, _WERKZEUG_SRC),
    Fingerprint("rails-web-console", "Rails", "interactive-debugger",
                (r"class='console-outer layer'", r"class='console-inner'"),
                "Rails web-console is rendered: an in-browser Ruby console on the server",
                "keep `web-console` in the Gemfile's :development group only; RAILS_ENV=production",
                "https://github.com/rails/web-console/blob/main/lib/web_console/templates/_inner_console_markup.html.erb"),
    # --- framework debug error pages ---
    Fingerprint("werkzeug-traceback", "Flask/Werkzeug", "error-page",
                (r"// Werkzeug Debugger</title>",),
                "the Werkzeug debugger shows full tracebacks with source code", _FLASK_OFF, _WERKZEUG_SRC),
    Fingerprint("django-technical", "Django", "error-page",
                (r"seeing this error because you have (?:<code>)?DEBUG = True",),
                "Django's technical error page (DEBUG = True): tracebacks, local variables, settings and URL patterns",
                "Django: `DEBUG = False` in settings (and set ALLOWED_HOSTS)",
                "https://github.com/django/django/blob/main/django/views/templates/technical_500.html"),
    Fingerprint("starlette-debug", "FastAPI/Starlette", "error-page",
                (r"<title>Starlette Debugger</title>",),
                "Starlette's debug traceback page (debug=True): tracebacks with source lines",
                "FastAPI/Starlette: `FastAPI(debug=False)` / `Starlette(debug=False)`",
                "https://github.com/encode/starlette/blob/master/starlette/middleware/errors.py (TEMPLATE)"),
    Fingerprint("express-finalhandler", "Express", "error-page",
                (r"<title>Error</title>", r"<pre>[^<]*(?:<br> &nbsp; &nbsp;at [^<]*)+</pre>"),
                "Express's default error handler prints err.stack outside production",
                "Express: NODE_ENV=production (finalhandler then sends only the status text)",
                "https://github.com/pillarjs/finalhandler/blob/master/index.js (getErrorMessage)"),
    Fingerprint("laravel-ignition", "Laravel", "error-page",
                (r"window\.ignite\(",),
                "Laravel's Ignition error page (APP_DEBUG=true): stack, request, environment",
                "Laravel: APP_DEBUG=false and APP_ENV=production in .env",
                "https://github.com/spatie/ignition/blob/main/resources/views/errorPage.php"),
    Fingerprint("php-whoops", "PHP (Whoops)", "error-page",
                (r"class=\"frames-container", r"class=\"details-container"),
                "the Whoops pretty error page: stack frames with source and environment",
                "Laravel/Slim: APP_DEBUG=false (do not register Whoops' PrettyPageHandler in production)",
                "https://github.com/filp/whoops/blob/master/src/Whoops/Resources/views/layout.html.php"),
    Fingerprint("symfony-exception", "Symfony", "error-page",
                (r"Symfony Exception</h1>",),
                "Symfony's debug exception page (APP_DEBUG=1)",
                "Symfony: APP_ENV=prod and APP_DEBUG=0",
                "https://github.com/symfony/symfony/blob/7.1/src/Symfony/Component/ErrorHandler/Resources/views/exception_full.html.php"),
    Fingerprint("rails-exception", "Rails", "error-page",
                (r"<title>Action Controller: Exception caught</title>",),
                "Rails' development exception page: backtrace, request and session",
                "Rails: `config.consider_all_requests_local = false` (production.rb) and RAILS_ENV=production",
                "https://github.com/rails/rails/blob/main/actionpack/lib/action_dispatch/middleware/templates/rescues/layout.erb"),
    Fingerprint("spring-whitelabel-trace", "Spring Boot", "error-page",
                (r"Whitelabel Error Page", r"(?m)^\s*at [\w$.]+\([\w$]+\.java:\d+\)"),
                "Spring Boot's Whitelabel page with a Java stack trace",
                "Spring Boot: `server.error.include-stacktrace=never` (and include-message/include-exception off)",
                "https://github.com/spring-projects/spring-boot/blob/main/spring-boot-project/spring-boot-autoconfigure/"
                "src/main/java/org/springframework/boot/autoconfigure/web/servlet/error/ErrorMvcAutoConfiguration.java"),
    Fingerprint("aspnet-yellow-screen", "ASP.NET", "error-page",
                (r"Server Error in '[^']*' Application", r"Stack Trace:"),
                "the ASP.NET \"yellow screen\" with exception details and stack trace",
                "ASP.NET: `<customErrors mode=\"RemoteOnly\"/>` (or On) and `<compilation debug=\"false\"/>` in web.config",
                "http://clear-writing-with-mr-clarity.blogspot.com/2012/06/draft-draft-mysterious-messages-1.html"),
    Fingerprint("aspnetcore-developer-page", "ASP.NET Core", "error-page",
                (r"class=\"rawExceptionStackTrace\"|An unhandled exception occurred while processing the request",),
                "the ASP.NET Core developer exception page",
                "ASP.NET Core: ASPNETCORE_ENVIRONMENT=Production; call UseDeveloperExceptionPage only in Development",
                "https://github.com/dotnet/aspnetcore/blob/main/src/Shared/ErrorPage/Views/ErrorPage.cshtml"),
    Fingerprint("php-display-errors", "PHP", "error-page",
                (r"(?:<b>)?(?:Fatal error|Parse error|Warning|Notice|Deprecated)(?:</b>)?:\s+.{1,400}? in (?:<b>)?\S+"
                 r"(?:</b>)? on line (?:<b>)?\d+",),
                "PHP prints errors into the page (display_errors): messages with file paths and line numbers",
                "PHP: `display_errors = Off` and `log_errors = On` in php.ini",
                "https://github.com/php/php-src/blob/master/main/main.c (php_error_cb); https://phppot.com/php/php-errors"),
    Fingerprint("phoenix-debugger", "Phoenix", "error-page",
                (r"role=\"stack-trace-item\"", r"class=\"conn-details\""),
                "Phoenix's Plug.Debugger page: stack, params, headers and session",
                "Phoenix: `debug_errors: false` on the Endpoint (the default outside config/dev.exs); MIX_ENV=prod",
                "https://github.com/elixir-plug/plug/blob/main/lib/plug/templates/debugger.html.eex"),
    Fingerprint("sinatra-development", "Sinatra/Rack", "error-page",
                (r"Sinatra doesn(?:&rsquo;|'|’)t know this ditty",),
                "Sinatra runs in development mode (its dev 404 and show_exceptions pages)",
                "Sinatra/Rack: APP_ENV=production (or RACK_ENV=production); `set :show_exceptions, false`",
                "https://github.com/sinatra/sinatra/blob/main/lib/sinatra/base.rb (error NotFound)"),
    # --- stack traces in any response (JSON errors, plain text) ---
    Fingerprint("python-traceback", "Python", "stack-trace",
                (r"Traceback \(most recent call last\):", r"File \"[^\"]+\", line \d+"),
                "a Python traceback with server file paths", _PY_OFF,
                "https://docs.python.org/3/library/traceback.html"),
    Fingerprint("node-stack", "Node.js", "stack-trace",
                (r"(?m)^\s*at (?:[^\n()]{1,200} \()?(?:/|[A-Za-z]:\\|file://|node:)[^\s()]*:\d+:\d+\)?\s*$",),
                "a Node.js stack trace (err.stack) with server file paths", _NODE_OFF,
                "https://nodejs.org/api/errors.html#errorstack"),
    Fingerprint("java-stack", "Java", "stack-trace",
                (r"(?m)^\s*at [\w$.]+\((?:[\w$]+\.java:\d+|Native Method|Unknown Source)\)",),
                "a Java stack trace", "Spring Boot: `server.error.include-stacktrace=never`; never return "
                "exception.printStackTrace() output",
                "https://docs.oracle.com/javase/8/docs/api/java/lang/Throwable.html#printStackTrace--"),
    Fingerprint("dotnet-stack", ".NET", "stack-trace",
                (r"(?m)^\s*at [\w.`<>\[\],]+\([^)\n]*\)(?: in [^\n]+:line \d+)?\s*$", r"System\.\w+Exception|:line \d+"),
                "a .NET stack trace", "ASP.NET Core: ASPNETCORE_ENVIRONMENT=Production; return ProblemDetails without "
                "exception.ToString()",
                "https://learn.microsoft.com/dotnet/api/system.exception.stacktrace"),
    Fingerprint("ruby-backtrace", "Ruby", "stack-trace",
                (r"(?<![\w/.-])[\w/.-]+\.rb:\d+:in [`'][^'`\n]+'",),  # lookbehind: linear on long word runs
                "a Ruby backtrace with server paths", "Rails: `config.consider_all_requests_local = false`; never render "
                "exception.backtrace",
                "https://ruby-doc.org/core/Exception.html#method-i-backtrace"),
    Fingerprint("php-trace", "PHP", "stack-trace",
                (r"(?m)^#\d+ (?:/|[A-Za-z]:\\)[^\s(]+\.php\(\d+\): ",),
                "a PHP stack trace (getTraceAsString) with server paths",
                "PHP: `display_errors = Off`; frameworks: APP_DEBUG=false",
                "https://www.php.net/manual/en/exception.gettraceasstring.php"),
    Fingerprint("go-panic", "Go", "stack-trace",
                (r"goroutine \d+ \[running\]:", r"\.go:\d+"),
                "a Go panic with a goroutine dump",
                "Go: recover panics in middleware and log the stack (gin: gin.SetMode(gin.ReleaseMode)); never write "
                "debug.Stack() to a response",
                "https://github.com/golang/go/issues/36883"),
    # --- SQL errors: the query shape leaks and the input reached the database unparameterised ---
    Fingerprint("postgres-error", "PostgreSQL", "sql-error",
                (r"syntax error at or near \"|unterminated quoted string at or near|PG::\w+Error|psycopg2?\.errors\.\w+",),
                "a PostgreSQL error message", "", "https://www.postgresql.org/docs/current/errcodes-appendix.html"),
    Fingerprint("mysql-error", "MySQL/MariaDB", "sql-error",
                (r"You have an error in your SQL syntax|check the manual that corresponds to your (?:MySQL|MariaDB) server",),
                "a MySQL syntax error message", "", "https://dev.mysql.com/doc/mysql-errors/8.0/en/server-error-reference.html"),
    Fingerprint("sqlite-error", "SQLite", "sql-error",
                (r"sqlite3\.OperationalError|SQLITE_ERROR|unrecognized token: |near \"[^\"\n]{0,40}\": syntax error",),
                "an SQLite error message", "", "https://www.sqlite.org/rescode.html"),
    Fingerprint("mssql-error", "SQL Server", "sql-error",
                (r"Unclosed quotation mark after the character string|Incorrect syntax near '",),
                "a SQL Server error message", "", "https://learn.microsoft.com/sql/relational-databases/errors-events/database-engine-events-and-errors"),
    Fingerprint("oracle-error", "Oracle", "sql-error",
                (r"\bORA-\d{5}\b",), "an Oracle error code", "", "https://docs.oracle.com/en/database/oracle/oracle-database/19/errmg/"),
    Fingerprint("pdo-sqlstate", "PHP PDO", "sql-error",
                (r"SQLSTATE\[[0-9A-Z]{5}\]",), "a PDO SQLSTATE error", "", "https://www.php.net/manual/en/class.pdoexception.php"),
    Fingerprint("orm-exception", "ORM", "sql-error",
                (r"django\.db\.utils\.\w+Error|sqlalchemy\.exc\.\w+|Sequelize\w*Error|PrismaClient\w*RequestError|"
                 r"ActiveRecord::StatementInvalid|org\.hibernate\.exception\.\w+|QueryFailedError|"
                 r"Illuminate\\\\?Database\\\\?QueryException",),
                "an ORM database exception (Django, SQLAlchemy, Sequelize, Prisma, ActiveRecord, Hibernate, TypeORM, Laravel)",
                "", "the ORMs' exception class names as documented by each project"),
)

SQL_FIX = ("Use parameterised queries or the ORM's query builder for every value (never string-format SQL), "
           "and return a generic error body; log the database message server-side.")


@dataclass(frozen=True)
class Endpoint:
    """A debug or documentation endpoint, confirmed only when every marker matches its body (a catch-all
    route answers 200 to anything, so the status proves nothing)."""

    name: str
    check: Literal["endpoint", "api-docs"]
    path: str
    framework: str
    markers: tuple[str, ...]
    proves: str
    setting: str
    severity: Literal["critical", "high", "medium", "low", "info"]
    source: str
    method: str = "GET"
    json: Any = None
    patterns: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "patterns", tuple(re.compile(m) for m in self.markers))

    def matches(self, text: str) -> re.Match[str] | None:
        found = [p.search(text) for p in self.patterns]
        return found[0] if all(found) else None


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("werkzeug-console", "endpoint", "/console", "Flask/Werkzeug", (r"Console // Werkzeug Debugger</title>",),
             "the Werkzeug interactive console: Python on the server behind a PIN", _FLASK_OFF, "critical",
             _WERKZEUG_SRC + " (CONSOLE_HTML)"),
    Endpoint("django-debug-toolbar", "endpoint", "/__debug__/", "Django", (r"djdt",),
             "django-debug-toolbar is installed and routed: SQL, settings and request internals",
             "Django: DEBUG = False and include debug_toolbar only in development settings", "high",
             "https://django-debug-toolbar.readthedocs.io/en/latest/installation.html"),
    Endpoint("symfony-profiler", "endpoint", "/_profiler", "Symfony", (r"(?i)symfony profiler|sf-toolbar|id=\"summary\"",),
             "the Symfony web profiler: every request's headers, session, queries and logs",
             "Symfony: APP_ENV=prod (the WebProfilerBundle is dev-only)", "critical",
             "https://symfony.com/doc/current/profiler.html"),
    Endpoint("laravel-telescope", "endpoint", "/telescope", "Laravel", (r"(?i)<title>[^<]*telescope",),
             "Laravel Telescope: requests, queries, jobs and exceptions of all users",
             "Laravel: gate Telescope (TelescopeServiceProvider::gate) or install it with --dev; APP_ENV=production",
             "high", "https://laravel.com/docs/telescope#dashboard-authorization"),
    Endpoint("laravel-horizon", "endpoint", "/horizon", "Laravel", (r"(?i)<title>[^<]*horizon",),
             "Laravel Horizon's queue dashboard", "Laravel: define the viewHorizon gate; APP_ENV=production", "medium",
             "https://laravel.com/docs/horizon#dashboard-authorization"),
    Endpoint("laravel-ignition-health", "endpoint", "/_ignition/health-check", "Laravel",
             (r"\"can_execute_commands\"\s*:\s*true",),
             "Ignition's solution endpoints are reachable and can run commands (CVE-2021-3129 class)",
             "Laravel: APP_DEBUG=false; keep facade/ignition and spatie/laravel-ignition up to date", "critical",
             "https://github.com/facade/ignition/blob/main/src/Http/Controllers/HealthCheckController.php"),
    Endpoint("spring-actuator", "endpoint", "/actuator", "Spring Boot", (r"\"_links\"", r"/actuator/"),
             "Spring Boot Actuator endpoints are exposed (env, heapdump and mappings can leak secrets)",
             "Spring Boot: `management.endpoints.web.exposure.include=health`, or secure /actuator with Spring Security",
             "high", "https://docs.spring.io/spring-boot/reference/actuator/endpoints.html"),
    Endpoint("rails-info", "endpoint", "/rails/info/properties", "Rails", (r"Rails version", r"Ruby version"),
             "Rails' development info page", "Rails: RAILS_ENV=production", "medium",
             "https://github.com/rails/rails/blob/main/railties/lib/rails/info_controller.rb"),
    Endpoint("go-pprof", "endpoint", "/debug/pprof/", "Go", (r"(?i)<title>/debug/pprof/</title>",),
             "Go's net/http/pprof: goroutine dumps, heap profiles and command lines",
             "Go: do not import net/http/pprof in the public server (serve it on a private port)", "high",
             "https://pkg.go.dev/net/http/pprof"),
    Endpoint("phpinfo", "endpoint", "/phpinfo.php", "PHP", (r"(?i)<title>[^<]*phpinfo\(\)", r"PHP Version"),
             "phpinfo(): configuration, paths and environment variables", "PHP: delete phpinfo.php from the web root",
             "high", "https://www.php.net/manual/en/function.phpinfo.php"),
    Endpoint("apache-server-status", "endpoint", "/server-status", "Apache httpd", (r"Apache Server Status for",),
             "Apache mod_status: client addresses and requested URLs of all visitors",
             "Apache: restrict `<Location /server-status>` with `Require local` (or disable mod_status)", "medium",
             "https://httpd.apache.org/docs/2.4/mod/mod_status.html"),
    Endpoint("elmah", "endpoint", "/elmah.axd", "ASP.NET", (r"(?i)error log for", r"(?i)elmah"),
             "ELMAH's error log: exceptions with request details and cookies",
             "ASP.NET: `<security allowRemoteAccess=\"false\" />` in the elmah section", "high",
             "https://elmah.github.io/a/securing-error-log-pages/"),
    Endpoint("aspnet-trace", "endpoint", "/trace.axd", "ASP.NET", (r"Application Trace", r"(?i)requests to this application"),
             "ASP.NET tracing: recent requests with headers, cookies and session",
             "ASP.NET: `<trace enabled=\"false\" localOnly=\"true\"/>` in web.config", "high",
             "https://learn.microsoft.com/previous-versions/aspnet/6915t83k(v=vs.100)"),
    Endpoint("graphql-introspection", "endpoint", "/graphql", "GraphQL", (r"\"__schema\"", r"\"queryType\""),
             "GraphQL introspection is on: the whole schema, including internal types and mutations",
             "GraphQL: disable introspection in production (Apollo `introspection: false`, graphene/strawberry "
             "validation rules, graphql-yoga useDisableIntrospection)", "medium",
             "https://www.apollographql.com/docs/apollo-server/api/apollo-server#introspection",
             method="POST", json={"query": "{__schema{queryType{name}}}"}),
    Endpoint("graphql-ide", "endpoint", "/graphql", "GraphQL", (r"(?i)graphiql|graphql playground|embeddable-sandbox",),
             "an in-browser GraphQL IDE (GraphiQL/Playground/Apollo Sandbox) is served",
             "GraphQL: turn the IDE off in production (graphene `graphiql=False`, Apollo landing page plugin off)",
             "low", "https://github.com/graphql/graphiql"),
    Endpoint("swagger-ui", "api-docs", "/docs", "Swagger UI", (r"(?i)swagger-ui",),
             "interactive API documentation (Swagger UI)",
             "FastAPI: `FastAPI(docs_url=None, redoc_url=None, openapi_url=None)`; springdoc: "
             "`springdoc.swagger-ui.enabled=false`; or protect the docs route", "info",
             "https://fastapi.tiangolo.com/how-to/conditional-openapi/"),
    Endpoint("redoc", "api-docs", "/redoc", "ReDoc", (r"(?i)<redoc|redoc\.standalone",),
             "API reference documentation (ReDoc)", "FastAPI: `FastAPI(redoc_url=None)`; or protect the docs route",
             "info", "https://fastapi.tiangolo.com/how-to/conditional-openapi/"),
    Endpoint("springdoc-swagger", "api-docs", "/swagger-ui.html", "Swagger UI", (r"(?i)swagger-ui",),
             "interactive API documentation (springdoc / Swashbuckle Swagger UI)",
             "springdoc: `springdoc.swagger-ui.enabled=false`; ASP.NET: call UseSwaggerUI only in Development", "info",
             "https://springdoc.org/#properties"),
)


DEV_SERVER_FIX = ("Build and serve the production output: `vite build` + a static host (`vite preview` is not for "
                  "production either; serve dist/ from your platform); Next.js: `next build && next start`, "
                  "NODE_ENV=production; Python apps: gunicorn, uvicorn or waitress instead of runserver or Werkzeug's "
                  "server; Rails: Puma with RAILS_ENV=production.")
_VITE_FIX = ("Vite: `vite build` and serve dist/ from a static host or your platform (`vite preview` is not for "
             "production either)")
_NEXT_FIX = "Next.js: `next build && next start` with NODE_ENV=production (never `next dev`)"
_PY_DEV_FIX = ("serve the app with a production WSGI/ASGI server (gunicorn, uvicorn, waitress, mod_wsgi) behind a "
               "reverse proxy")
_VITE_CLIENT_SRC = "https://github.com/vitejs/vite/blob/main/packages/vite/src/client/client.ts"
_NEXT_DEV_SRC = "https://github.com/vercel/next.js/blob/canary/packages/next/src/server/dev/next-dev-server.ts"


@dataclass(frozen=True)
class DevServer:
    """One sign in the root page that a development server answers. When `confirm_path` is set the page only
    names a resource; the sign counts once that resource, fetched, matches every `confirm_markers` regex (a
    catch-all route echoes the name but cannot serve the dev client's code)."""

    name: str
    framework: str
    markers: tuple[str, ...]
    proves: str
    setting: str
    source: str
    confirm_path: str | None = None
    confirm_markers: tuple[str, ...] = ()
    # The response header the markers read instead of the page's body (a server's own banner).
    header: str | None = None
    patterns: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)
    confirm_patterns: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "patterns", tuple(re.compile(m) for m in self.markers))
        object.__setattr__(self, "confirm_patterns", tuple(re.compile(m) for m in self.confirm_markers))

    def matches(self, text: str) -> re.Match[str] | None:
        found = [p.search(text) for p in self.patterns]
        return found[0] if all(found) else None

    def seen_in(self, body: str, headers: Mapping[str, str]) -> tuple[str, re.Match[str]] | None:
        """(the text that matched, the match): the named header's value, or the page's body."""
        text = (headers.get(self.header) or "") if self.header else body
        found = self.matches(text)
        return (text, found) if found else None

    def confirmed_by(self, text: str) -> re.Match[str] | None:
        found = [p.search(text) for p in self.confirm_patterns]
        return found[0] if found and all(found) else None


DEV_SERVERS: tuple[DevServer, ...] = (
    DevServer("vite-client", "Vite", (r"""<script\b[^>]*\bsrc=["']?(?P<src>[^"'\s>]*/@vite/client)""",),
              "the page loads /@vite/client and that module is Vite's HMR client: the Vite dev server answers "
              "(unbundled source, source maps, and the dev server's file-serving and transform endpoints)",
              _VITE_FIX, _VITE_CLIENT_SRC + " (injected by packages/vite/src/node/server/middlewares/indexHtml.ts)",
              confirm_path="/@vite/client",
              confirm_markers=(r"\[vite\] connecting\.\.\.", r"vite-hmr|import\.meta\.hot|createHotContext")),
    DevServer("next-dev-build-id", "Next.js", (r"id=\"__NEXT_DATA__\"", r"\"buildId\"\s*:\s*\"development\""),
              "__NEXT_DATA__ carries buildId \"development\": the page comes from `next dev`",
              _NEXT_FIX, _NEXT_DEV_SRC + " (getBuildId returns 'development')"),
    DevServer("next-dev-static", "Next.js", (r"/_next/static/development/",),
              "the page loads /_next/static/development/ assets (the dev build manifest): `next dev` serves it",
              _NEXT_FIX, "https://github.com/vercel/next.js/blob/canary/packages/next/src/server/dev/hot-reloader-webpack.ts"
              " (development build manifest path)"),
    DevServer("next-webpack-hmr", "Next.js", (r"/_next/webpack-hmr",),
              "the page refers to /_next/webpack-hmr, the dev server's hot-reload socket",
              _NEXT_FIX, "https://github.com/vercel/next.js/blob/canary/packages/next/src/client/dev/hot-reloader/"
              "get-socket-url.ts (/_next/webpack-hmr)"),
    # --- development servers that name themselves in the Server header ---
    DevServer("django-runserver", "Django runserver / wsgiref", (r"^WSGIServer/\d[\d.]* CPython/",),
              "the Server header is wsgiref's banner, which `manage.py runserver` (and any wsgiref server) sends: "
              "a single-process reference server Django documents as unfit for production",
              "Django: " + _PY_DEV_FIX + " (https://docs.djangoproject.com/en/stable/ref/django-admin/#runserver)",
              "https://github.com/python/cpython/blob/main/Lib/wsgiref/simple_server.py (server_version, sys_version); "
              "https://github.com/django/django/blob/main/django/core/servers/basehttp.py (WSGIRequestHandler)",
              header="server"),
    DevServer("werkzeug-dev-server", "Werkzeug", (r"^Werkzeug/\d",),
              "the Server header is Werkzeug's development server (`flask run`, `app.run()`, run_simple), which Flask "
              "documents as not for production",
              "Flask/Werkzeug: " + _PY_DEV_FIX + " (https://flask.palletsprojects.com/en/stable/deploying/)",
              "https://github.com/pallets/werkzeug/blob/main/src/werkzeug/serving.py (WSGIRequestHandler.server_version)",
              header="server"),
    DevServer("python-http-server", "Python http.server", (r"^SimpleHTTP/\d[\d.]* Python/",),
              "the Server header is Python's http.server (`python -m http.server`), which its documentation says is "
              "not for production",
              "serve static files from a web server or static host (nginx, Caddy, the platform's CDN)",
              "https://github.com/python/cpython/blob/main/Lib/http/server.py (SimpleHTTPRequestHandler.server_version); "
              "https://docs.python.org/3/library/http.server.html",
              header="server"),
    DevServer("webrick", "WEBrick", (r"^WEBrick/\d",),
              "the Server header is WEBrick, Ruby's development server (the old `rails server` default)",
              "Rails: serve with Puma in production mode (RAILS_ENV=production, `bundle exec puma -C config/puma.rb`)",
              "https://github.com/ruby/webrick/blob/master/lib/webrick/config.rb (ServerSoftware)",
              header="server"),
    DevServer("rails-server-timing", "Rails (development)", (r"\.action_controller;dur=",),
              "Server-Timing lists Rails' instrumentation events (`start_processing.action_controller`...): "
              "`config.server_timing = true`, which the generated development.rb sets, so the app runs in development",
              "Rails: RAILS_ENV=production (and leave `config.server_timing` out of production.rb)",
              "https://github.com/rails/rails/blob/main/railties/lib/rails/generators/rails/app/templates/config/"
              "environments/development.rb.tt (config.server_timing); "
              "https://github.com/rails/rails/blob/main/actionpack/lib/action_dispatch/middleware/server_timing.rb",
              header="server-timing"),
)
