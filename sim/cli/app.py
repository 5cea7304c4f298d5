"""``cogov app``: serve the teaching app (``sim.app``, Mesa SolaraViz) on this machine.

The command binds a solara server to 127.0.0.1 unless told otherwise, after checking that the
port can be bound; the page's front end comes through the server's proxy of a public CDN, or,
where that CDN is blocked, from the same packages on the npm registry (cached after the first
start). The page's WebSocket (the live connection to its Python kernel) is refused when the browser
says it comes from a page of another site (``same_origin_websockets``), so that no web page open
elsewhere in the browser can drive the app; on a loopback address, a request whose ``Host`` is not a
loopback name is refused too, so that a site whose name is made to point at 127.0.0.1 (DNS
rebinding) is not "the app's own site" either. Exit codes 0 (stopped), 2 (bad option, port in use, the
server could not start).
"""

from __future__ import annotations

import argparse
import importlib
import io
import os
import re
import shutil
import socket
import sys
import tarfile
import tempfile
import threading
import time
import warnings
from pathlib import Path

from .common import fail, warn

COMMAND = "app"
#: The module whose ``Page`` solara serves.
APP_MODULE = "sim.app"


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be between 1 and 65535 (got {port})")
    return port


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="cogov app",
        description="Start the interactive teaching app (Mesa SolaraViz) on this machine and print its address: "
                    "a classroom city (3,000 residents), the main reform levers as sliders, two runs side by side "
                    "on the same seed, labels in English or Chinese. See docs/APP.md.")
    p.add_argument("--port", type=_port, default=8765, help="port to listen on (default 8765)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1: this machine only; 0.0.0.0 opens it to the network)")
    return p


def check_port(host: str, port: int) -> str | None:
    """None if ``host:port`` can be bound now, else why not."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return f"--host {host}: unknown address ({exc.strerror})"
    family, _, _, _, addr = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(addr)
        except PermissionError:
            return f"--port {port}: not allowed on {host} (ports below 1024 need administrator rights)"
        except OSError as exc:
            if exc.errno in (98, 48, 10048):  # EADDRINUSE (Linux, macOS, Windows)
                return f"--port {port}: already in use on {host}; choose another with --port"
            return f"--host {host} --port {port}: cannot listen there ({exc.strerror})"
    return None


#: A front-end file the page loads through Solara's CDN proxy: (npm package@version, path in it).
CDN_FILE = re.compile(r"/_solara/cdn/((?:@[\w.-]+/)?[\w.-]+@[\w.-]+)(/[^\"'?#\s]+)")
NPM_REGISTRY = "https://registry.npmjs.org"


def _get(url: str, timeout: float = 60) -> tuple[int, bytes]:
    import urllib.error
    import urllib.request
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""
    except (urllib.error.URLError, OSError):
        return 0, b""


def _unpack_npm(spec: str, dest: Path) -> None:
    """Put npm package ``spec`` (name@version) into ``dest``, from the npm registry's tarball."""
    name, version = spec.rsplit("@", 1)
    status, data = _get(f"{NPM_REGISTRY}/{name}/-/{name.split('/')[-1]}-{version}.tgz", timeout=300)
    if status != 200:
        raise OSError(f"{spec}: the npm registry answered {status or 'nothing'}")
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(fileobj=io.BytesIO(data)) as tf:
        tf.extractall(tmp, filter="data")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(Path(tmp) / "package", dest, dirs_exist_ok=True)


def ensure_front_end(base: str, cache: Path) -> list[str]:
    """The page loads its front end (JavaScript, CSS, fonts) through the server's proxy of a public
    CDN, cached in ``cache``. Where that CDN cannot be reached, fill the cache from the same
    packages on the npm registry. Returns the packages fetched; raises OSError if one cannot be."""
    status, html = _get(base + "/")
    if status != 200:
        raise OSError(f"the app's page answered {status or 'nothing'}")
    import solara.settings

    cdn = solara.settings.assets.cdn.rstrip("/") + "/"
    files: dict[str, str] = {}
    for spec, path in CDN_FILE.findall(html.decode("utf-8", "replace")):
        files.setdefault(spec, path)
    fetched = []
    for spec, path in sorted(files.items()):
        if (cache / spec / path.lstrip("/")).is_file() or _get(f"{cdn}{spec}{path}", timeout=10)[0] == 200:
            continue  # cached, or the server's proxy will fetch it from the CDN
        _unpack_npm(spec, cache / spec)
        fetched.append(spec)
    return fetched


def _front_end_when_started(server, host: str, port: int, cache: Path) -> None:
    while not server.started and not server.should_exit:
        time.sleep(0.2)
    if server.started:
        local = "127.0.0.1" if host in ("0.0.0.0", "::", "") else (f"[{host}]" if ":" in host else host)
        try:
            fetched = ensure_front_end(f"http://{local}:{port}", cache)
            if fetched:
                print(f"cogov app: the page's front end came from the npm registry ({', '.join(fetched)}), "
                      f"cached in {cache}", flush=True)
        except OSError as exc:
            warn(f"the page's front end could not be fetched from its CDN or the npm registry ({exc}); the page "
                 "stays blank until it can", COMMAND)


# ------------------------------------------------------------------------------------------------
# the WebSocket's Origin
# ------------------------------------------------------------------------------------------------

DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}


def _host_port(netloc: str, scheme: str) -> tuple[str, int | None] | None:
    """(host in lower case, port) of ``host[:port]``, the port None when it is the scheme's default or
    not given (a TLS-ending proxy's ``Host`` has none while the page's Origin is https); None if unreadable."""
    from urllib.parse import urlsplit
    try:
        parts = urlsplit(f"//{netloc.strip()}")
        host, port = parts.hostname, parts.port
    except ValueError:  # a port that is not a number, a malformed IPv6 address
        return None
    if not host:
        return None
    return host.lower().rstrip("."), None if port == DEFAULT_PORTS.get(scheme) else port


def origin_allowed(scope: dict) -> bool:
    """Whether a WebSocket connection (an ASGI ``scope``) may be accepted: yes without an ``Origin``
    header (not a browser: browsers always send one), yes if the Origin's host and port are those the
    app is served on (the ``Host`` header, or ``X-Forwarded-Host`` behind a proxy), no otherwise
    (another site, "null", an unreadable Origin)."""
    from urllib.parse import urlsplit
    headers: dict[str, str] = {}
    for name, value in scope.get("headers") or []:
        headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    origin = headers.get("origin")
    if origin is None:
        return True
    try:
        o = urlsplit(origin.strip())
    except ValueError:
        return False
    if o.scheme not in ("http", "https") or not o.netloc:
        return False
    theirs = _host_port(o.netloc, o.scheme)
    scheme = scope.get("scheme", "ws")
    ours = [_host_port(h, scheme) for name in ("host", "x-forwarded-host") if name in headers
            for h in headers[name].split(",")]
    if "host" not in headers and scope.get("server"):  # HTTP/1.0: the address the server listens on
        host, port = scope["server"][:2]
        ours.append(_host_port(f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}", scheme))
    return theirs is not None and theirs in ours


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, IPv6 with or without brackets) is this machine's loopback."""
    import ipaddress
    name = host.strip().strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):  # RFC 6761: always the loopback
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_allowed(scope: dict) -> bool:
    """Whether a request to an app that listens on a loopback address names a loopback host: its
    ``Host`` header is localhost or a loopback address (or absent, HTTP/1.0). A page of any other name
    that reaches 127.0.0.1 does so by DNS rebinding."""
    for name, value in scope.get("headers") or []:
        if name.lower() == b"host":
            hp = _host_port(value.decode("latin-1"), scope.get("scheme", "http"))
            return hp is not None and is_loopback(hp[0])
    return True


def same_origin_websockets(app, loopback_only: bool = False):
    """ASGI middleware around ``app``: a WebSocket whose ``Origin`` is another site than the app's
    (``origin_allowed``) is closed before it is accepted (the server answers 403), so that a web page
    elsewhere cannot open the kernel's connection with the user's cookies; with ``loopback_only`` (the
    app listens on a loopback address), any request whose Host is not a loopback name (``host_allowed``)
    is refused too (403); everything else goes to ``app``."""
    async def guarded(scope, receive, send):
        if loopback_only and scope["type"] in ("http", "websocket") and not host_allowed(scope):
            host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1")
            warn(f"refused a request for host {host!r}: the app listens on this machine only (open it as "
                 "http://127.0.0.1:PORT or http://localhost:PORT)", COMMAND)
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
            else:
                await send({"type": "http.response.start", "status": 403,
                            "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
                await send({"type": "http.response.body",
                            "body": b"cogov app listens on this machine only: open it as http://127.0.0.1:PORT\n"})
            return
        if scope["type"] == "websocket" and not origin_allowed(scope):
            origin = dict(scope.get("headers") or []).get(b"origin", b"").decode("latin-1")
            warn(f"refused a WebSocket connection from the page of another site (Origin {origin})", COMMAND)
            await send({"type": "websocket.close", "code": 1008})  # 1008: policy violation
            return
        await app(scope, receive, send)

    return guarded


def asgi_app():
    """The ASGI application ``cogov app`` serves: solara's Starlette app behind ``same_origin_websockets``
    (loopback names only when the server listens on a loopback address, ``SERVER_NAME``)."""
    from solara.server.starlette import app
    return same_origin_websockets(app, loopback_only=is_loopback(os.environ.get("SERVER_NAME", "127.0.0.1")))


def main(argv: list[str] | None = None) -> int:
    """``cogov app [--port N] [--host ADDRESS]``: serve the app until interrupted."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    problem = check_port(args.host, args.port)
    if problem:
        return fail(problem, COMMAND)
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https")  # local http is fine
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    importlib.import_module(APP_MODULE)  # load the app now: an error in it shows here, not in the browser
    os.environ["SOLARA_APP"] = f"{APP_MODULE}:Page"
    os.environ["SERVER_NAME"], os.environ["SERVER_PORT"] = args.host, str(args.port)
    import uvicorn
    from solara.server import settings

    settings.main.mode = "production"        # no auto-reload, no dev tools
    settings.telemetry.mixpanel_enable = False
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"cogov app: open http://{host}:{args.port} in a browser (Ctrl-C to stop)", flush=True)
    config = uvicorn.Config(asgi_app, factory=True, host=args.host, port=args.port, log_level="warning")
    server = uvicorn.Server(config)
    threading.Thread(target=_front_end_when_started, daemon=True,
                     args=(server, args.host, args.port, Path(settings.assets.proxy_cache_dir))).start()
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    if not server.started:
        return fail(f"the server could not start on {args.host}:{args.port}", COMMAND)
    return 0


