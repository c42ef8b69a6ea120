"""Serves the demo clinic page with the chat widget (`make run` starts it).

    python web/serve.py [--host 127.0.0.1] [--port 8080] [--rasa-url http://localhost:5005]

The page is index.html with the embed snippet (embed-snippet.html, the one a
clinic copies) put in, pointed at this machine's Rasa server and at the
rasa-webchat script installed by `npm ci` instead of the CDN, and with the
widget's font (Inter, from the @fontsource/inter package) served from here.
Only these files are served; the page gets a Content-Security-Policy that allows scripts from
this server and the snippet only, and connections to the Rasa server only.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

WEB = Path(__file__).resolve().parent
WEBCHAT_JS = WEB / "node_modules" / "rasa-webchat" / "lib" / "index.js"
SNIPPET_URL = "https://assistant.example-clinic.test"
SNIPPET_SCRIPT = "https://cdn.jsdelivr.net/npm/rasa-webchat@1.0.1/lib/index.js"
LOCAL_SCRIPT = "/vendor/rasa-webchat-1.0.1.js"
# The widget's font, from the @fontsource/inter package (index.html declares it).
FONTS = WEB / "node_modules" / "@fontsource" / "inter" / "files"
FONT_PATH = re.compile(r"/vendor/fonts/(inter-latin-(?:400|500|700)-normal\.woff2)")
MARKER = re.compile(r"<!-- footcare-widget:.*?-->")


def snippet() -> str:
    return (WEB / "embed-snippet.html").read_text(encoding="utf-8")


def demo_page(rasa_url: str) -> str:
    embed = snippet().replace(SNIPPET_URL, rasa_url.rstrip("/")).replace(SNIPPET_SCRIPT, LOCAL_SCRIPT)
    page = (WEB / "index.html").read_text(encoding="utf-8")
    return MARKER.sub(lambda _: embed, page, count=1)


def content_security_policy(page: str, rasa_url: str) -> str:
    scripts = re.findall(r"<script>(.*?)</script>", page, flags=re.DOTALL)
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode("utf-8")).digest()).decode() + "'" for s in scripts
    )
    parts = urlsplit(rasa_url)
    socket = ("wss://" if parts.scheme == "https" else "ws://") + parts.netloc
    return (
        f"default-src 'self'; script-src 'self' {hashes}; connect-src 'self' {rasa_url.rstrip('/')} {socket}; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


class Handler(BaseHTTPRequestHandler):
    server_version = "footcare-demo"
    rasa_url = "http://localhost:5005"

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        path = urlsplit(self.path).path
        font = FONT_PATH.fullmatch(path)
        font_file = FONTS / font.group(1) if font else None
        if path in ("/", "/index.html"):
            page = demo_page(self.rasa_url)
            self.send(
                200, "text/html; charset=utf-8", page.encode("utf-8"), content_security_policy(page, self.rasa_url)
            )
        elif path == "/embed-snippet.html":
            self.send(200, "text/plain; charset=utf-8", snippet().encode("utf-8"))
        elif path == LOCAL_SCRIPT and WEBCHAT_JS.exists():
            self.send(200, "application/javascript; charset=utf-8", WEBCHAT_JS.read_bytes())
        elif path == LOCAL_SCRIPT:
            self.send(500, "text/plain; charset=utf-8", b"rasa-webchat is not installed: run `make install`\n")
        elif font_file and font_file.exists():
            self.send(200, "font/woff2", font_file.read_bytes())
        else:
            self.send(404, "text/plain; charset=utf-8", b"not found\n")

    def do_HEAD(self) -> None:  # noqa: N802
        self.do_GET()

    def send(self, status: int, content_type: str, body: bytes, csp: str = "") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-store")
        if csp:
            self.send_header("Content-Security-Policy", csp)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        if os.environ.get("WEB_QUIET") != "1":
            super().log_message(format, *args)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default=os.environ.get("WEB_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("WEB_PORT", "8080")))
    parser.add_argument(
        "--rasa-url", default=os.environ.get("RASA_URL") or f"http://localhost:{os.environ.get('RASA_PORT', '5005')}"
    )
    args = parser.parse_args(argv)
    if not WEBCHAT_JS.exists():
        print("warning: web/node_modules is missing; run `make install` (npm ci in web/)", file=sys.stderr)
    Handler.rasa_url = args.rasa_url
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    print(
        f"Demo clinic page on http://{'localhost' if args.host in ('127.0.0.1', '0.0.0.0') else args.host}:{args.port}",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
