"""Render the deployment files for this installation: ``python deploy/render.py haproxy``.

Only the standard library, so it runs on the proxy machine as it is. The
defaults are a production layout (HTTPS on 443, a redirect from 80, two app
instances on this machine); every value can be changed:

    python deploy/render.py haproxy \\
        --instance 10.0.0.11:8501 --instance 10.0.0.12:8501 \\
        --certificate /etc/haproxy/certs/dashboard.pem > /etc/haproxy/haproxy.cfg

``--unprivileged`` leaves out what needs root (chroot, user switch, the
admin socket): for a container or a test run by an ordinary user.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PRIVILEGED_GLOBAL = (
    "    log /dev/log local0\n"
    "    chroot /var/lib/haproxy\n"
    "    stats socket /run/haproxy/admin.sock mode 660 level admin\n"
    "    user haproxy\n"
    "    group haproxy\n"
    "    daemon"
)
UNPRIVILEGED_GLOBAL = "    log stderr format short local0 notice"


def render_haproxy(
    *,
    instances: list[str],
    listen: str,
    certificate: str,
    redirect_from: str | None,
    unprivileged: bool,
) -> str:
    template = (HERE / "haproxy" / "haproxy.cfg.in").read_text(encoding="utf-8")
    servers = "\n".join(
        f"    server app{n} {address} cookie app{n}" for n, address in enumerate(instances, 1)
    )
    redirect = (
        f"    bind {redirect_from}\n    http-request redirect scheme https code 301 unless {{ ssl_fc }}"
        if redirect_from
        else "    # (no plain-HTTP listener)"
    )
    values = {
        "@GLOBAL@": UNPRIVILEGED_GLOBAL if unprivileged else PRIVILEGED_GLOBAL,
        "@LISTEN@": listen,
        "@CERTIFICATE@": certificate,
        "@REDIRECT@": redirect,
        "@SERVERS@": servers,
    }
    for placeholder, value in values.items():
        template = template.replace(placeholder, value)
    return template


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="deploy/render.py", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="what", required=True)
    haproxy = commands.add_parser("haproxy", help="the proxy's haproxy.cfg")
    haproxy.add_argument(
        "--instance",
        action="append",
        help="host:port of a Streamlit instance (repeat; default 127.0.0.1:8501 and :8502)",
    )
    haproxy.add_argument("--listen", default=":443", help="HTTPS address (default :443)")
    haproxy.add_argument(
        "--certificate",
        default="/etc/haproxy/certs/dashboard.pem",
        help="PEM file: certificate chain then private key",
    )
    haproxy.add_argument(
        "--redirect-from", default=":80", help="plain-HTTP address redirected to HTTPS, or none"
    )
    haproxy.add_argument("--unprivileged", action="store_true", help="no chroot, user or socket")
    haproxy.add_argument("--output", "-o", type=Path, help="file to write (default: stdout)")
    args = parser.parse_args(argv)
    text = render_haproxy(
        instances=args.instance or ["127.0.0.1:8501", "127.0.0.1:8502"],
        listen=args.listen,
        certificate=args.certificate,
        redirect_from=None if args.redirect_from == "none" else args.redirect_from,
        unprivileged=args.unprivileged,
    )
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
