#!/usr/bin/env python3
# A bearer token server for the registry tests: the docker token protocol
# (GET realm?service=...&scope=repository:NAME:ACTIONS, basic auth) answered with an RS256
# JWT whose x5c header carries the signing certificate, which docker-registry checks against
# its rootcertbundle. Signing goes through the openssl command line.
#   token-server.py PORT KEY CERT ISSUER SERVICE USER PASSWORD
import base64, json, os, subprocess, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

port, key, cert, issuer, service, user, password = sys.argv[1:8]


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


with open(cert) as f:
    pem = f.read()
der = base64.b64decode("".join(l for l in pem.splitlines() if "CERTIFICATE" not in l))


def sign(claims):
    header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode()]}
    head = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=head.encode(),
                         capture_output=True, check=True).stdout
    return head + "." + b64url(sig)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        q = parse_qs(urlparse(self.path).query)
        auth = self.headers.get("Authorization", "")
        want = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        if auth != want:
            self.reply(401, {"errors": [{"code": "UNAUTHORIZED",
                                         "message": "token server: bad user or password"}]})
            return
        if q.get("service", [""])[0] != service:
            self.reply(400, {"errors": [{"code": "DENIED", "message": "unknown service"}]})
            return
        access = []
        for s in q.get("scope", []):
            kind, rest = s.split(":", 1)
            name, actions = rest.rsplit(":", 1)
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        token = sign({"iss": issuer, "sub": user, "aud": service, "exp": now + 300,
                      "nbf": now - 10, "iat": now, "jti": os.urandom(8).hex(),
                      "access": access})
        self.reply(200, {"token": token, "access_token": token, "expires_in": 300})


ThreadingHTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()
