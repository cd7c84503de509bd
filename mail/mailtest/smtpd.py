#!/usr/bin/python3
"""A real SMTP server for ferry's mail tests, built on aiosmtpd.

It listens on 127.0.0.1 and saves every message it accepts as a JSON file
(envelope, raw data in base64, whether TLS and AUTH were used) in --dir,
written under a temporary name and renamed, so that a reader never sees
half a file. Once listening it prints "READY <port>" on stdout.

  --port N            the port (0: any free one)
  --dir DIR           where to save the messages
  --cert F --key F    a certificate, for --starttls or --smtps
  --starttls          offer STARTTLS and require it before MAIL
  --smtps             TLS from the first byte (implicit TLS)
  --user U --password P   require AUTH (PLAIN or LOGIN) with these
  --reject ADDR       answer 550 to RCPT TO:<ADDR>
"""

import argparse
import base64
import itertools
import json
import os
import signal
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Saver:
    def __init__(self, directory, reject):
        self.directory = directory
        self.reject = {a.lower() for a in reject}
        self.seq = itertools.count(1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.reject:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "data": base64.b64encode(data).decode("ascii"),
            # session.ssl is set by STARTTLS; smtps shows in the transport.
            "tls": session.ssl is not None
            or server.transport.get_extra_info("ssl_object") is not None,
            "authenticated": bool(session.authenticated),
        }
        n = next(self.seq)
        tmp = os.path.join(self.directory, ".tmp-%d-%d" % (os.getpid(), n))
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(self.directory, "msg-%d-%d.json" % (os.getpid(), n)))
        return "250 OK saved"


class Checker:
    def __init__(self, user, password):
        self.user = user.encode()
        self.password = password.encode()

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login == self.user
              and auth_data.password == self.password)
        # handled=False: aiosmtpd answers 535 to a failure.
        return AuthResult(success=ok, handled=False)


class LocalController(Controller):
    """A Controller that may listen on port 0 and learns its port."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--dir", required=True)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--starttls", action="store_true")
    p.add_argument("--smtps", action="store_true")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--reject", action="append", default=[])
    a = p.parse_args()

    ctx = None
    if a.cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.cert, a.key)
    kwargs = {"hostname": "127.0.0.1", "port": a.port, "server_hostname": "ferry-test"}
    if a.smtps:
        kwargs["ssl_context"] = ctx
    elif a.starttls:
        kwargs["tls_context"] = ctx
        kwargs["require_starttls"] = True
    if a.user is not None:
        kwargs["authenticator"] = Checker(a.user, a.password or "")
        kwargs["auth_required"] = True
        # Over STARTTLS, AUTH waits for TLS; smtps is TLS from the start
        # (aiosmtpd cannot tell), and plain is for loopback tests.
        kwargs["auth_require_tls"] = a.starttls

    c = LocalController(Saver(a.dir, a.reject), **kwargs)
    c.start()
    print("READY %d" % c.port, flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    # Also stop when the test closes our stdin.
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    stop.wait()
    c.stop()


if __name__ == "__main__":
    main()
