"""A real SMTP server on loopback for the alert tests (aiosmtpd, from PyPI).

Usage: smtp_receiver.py USER PASSWORD
Listens on a free port on 127.0.0.1, prints "READY <port>" and then one JSON line per message
received: {"from", "to", "user", "data"}. AUTH (PLAIN, LOGIN) is required, over the plain
connection (the test server has no certificate), with the given user and password.
"""
import asyncio
import json
import socket
import sys
import warnings

# Plain-text AUTH is the point of this test server (it has no certificate); say nothing of it.
warnings.filterwarnings("ignore")
__import__("logging").getLogger("mail.log").setLevel(40)

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = sys.argv[1].encode(), sys.argv[2].encode()


class Handler:
    async def handle_DATA(self, server, session, envelope):
        print(json.dumps({
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "user": session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None,
            "data": envelope.content.decode("utf-8", "replace"),
        }), flush=True)
        return "250 Message accepted"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (USER, PASSWORD)
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


port = free_port()
controller = Controller(
    Handler(), hostname="127.0.0.1", port=port,
    authenticator=authenticator, auth_required=True, auth_require_tls=False,
)
controller.start()
print(f"READY {port}", flush=True)
try:
    sys.stdin.read()  # runs until the test closes our stdin (or dies)
finally:
    controller.stop()
