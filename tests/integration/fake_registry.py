#!/usr/bin/python3
"""A small fake of the Confluent Schema Registry REST API for integration tests (loopback only).

Implements what ss_schemareg uses, with the registry's status codes and error bodies
({"error_code": N, "message": "..."}):
  POST /subjects/{subject}/versions   register -> {"id": N}; the same schema text gets the same
                                       global id under any subject; 409 when a new field lacks a
                                       default (a simplified BACKWARD check against the latest
                                       version); 422 for a schema that is not JSON
  POST /subjects/{subject}            lookup -> {"subject","id","version","schema"}; 404 40401/40403
  GET  /schemas/ids/{id}              -> {"schema": "..."} (+ "schemaType" when not AVRO); 404 40403
  GET  /subjects, /subjects/{s}/versions, /subjects/{s}/versions/{v|latest}, GET/PUT /config[/{s}]
Test controls (not in the real API):
  GET  /_stats                        {"requests": {"GET /schemas/ids/42": 1, ...}}
  POST /_fail?status=503&count=2      the next 2 API requests answer 503
Options: --port-file F (written once listening on 127.0.0.1:<ephemeral>), --auth user:pass
(requires HTTP basic auth), --preload ID:FILE[:TYPE] (a schema with a fixed id, no subject),
--first-id N (ids are assigned from N, default 1: a registry whose ids differ from the manifest).
Requests must send Content-Type application/vnd.schemaregistry.v1+json (or application/json)
with a body, else 415.
"""
import argparse
import base64
import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse

CT = "application/vnd.schemaregistry.v1+json"


class State:
    def __init__(self, first_id=1):
        self.lock = threading.Lock()
        self.by_id = {}  # id -> (text, type)
        self.by_text = {}  # (text, type) -> id
        self.subjects = {}  # subject -> [id, ...] (versions in order)
        self.config = {"compatibility": "BACKWARD"}
        self.subject_config = {}
        self.next_id = first_id
        self.stats = {}
        self.fail_status = 0
        self.fail_count = 0

    def id_for(self, text, stype):
        key = (text, stype)
        if key not in self.by_text:
            while self.next_id in self.by_id:
                self.next_id += 1
            self.by_text[key] = self.next_id
            self.by_id[self.next_id] = key
            self.next_id += 1
        return self.by_text[key]


def backward_problem(old_text, new_text):
    """A simplified BACKWARD check for records: a field the new reader adds needs a default."""
    try:
        old, new = json.loads(old_text), json.loads(new_text)
    except ValueError:
        return None
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return None
    if old.get("type") != "record" or new.get("type") != "record":
        return None
    old_names = {f.get("name") for f in old.get("fields", [])}
    for f in new.get("fields", []):
        if f.get("name") not in old_names and "default" not in f:
            return "reader field '%s' has no default and is missing from the writer" % f.get("name")
    return None


def make_handler(state, auth):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # quiet; the test prints our log on failure
            sys.stderr.write("fake_registry: " + (fmt % args) + "\n")

        def reply(self, status, obj):
            body = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", CT)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def error(self, status, code, msg):
            self.reply(status, {"error_code": code, "message": msg})

        def read_body(self):
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else b""

        def handle_any(self, method):
            url = urlparse(self.path)
            path = url.path
            body = self.read_body()
            if path == "/_stats":
                with state.lock:
                    return self.reply(200, {"requests": dict(state.stats)})
            if path == "/_fail":
                q = parse_qs(url.query)
                with state.lock:
                    state.fail_status = int(q.get("status", ["503"])[0])
                    state.fail_count = int(q.get("count", ["1"])[0])
                return self.reply(200, {})
            with state.lock:
                key = method + " " + path
                state.stats[key] = state.stats.get(key, 0) + 1
                if state.fail_count > 0:
                    state.fail_count -= 1
                    return self.error(state.fail_status, state.fail_status * 100, "injected failure")
            if auth:
                want = "Basic " + base64.b64encode(auth.encode()).decode()
                if self.headers.get("Authorization") != want:
                    return self.error(401, 401, "Unauthorized")
            if method in ("POST", "PUT"):
                ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
                if ctype not in (CT, "application/json"):
                    return self.error(415, 415, "HTTP 415 Unsupported Media Type")
                try:
                    req = json.loads(body.decode("utf-8"))
                except ValueError:
                    return self.error(400, 400, "Unrecognized request body")
            else:
                req = None
            return self.route(method, path, req)

        def route(self, method, path, req):
            m = re.fullmatch(r"/subjects/([^/]+)/versions", path)
            if m and method == "POST":
                return self.register(unquote(m.group(1)), req)
            if m and method == "GET":
                subj = unquote(m.group(1))
                with state.lock:
                    if subj not in state.subjects:
                        return self.error(404, 40401, "Subject '%s' not found." % subj)
                    return self.reply(200, list(range(1, len(state.subjects[subj]) + 1)))
            m = re.fullmatch(r"/subjects/([^/]+)/versions/(latest|\d+)", path)
            if m and method == "GET":
                subj = unquote(m.group(1))
                with state.lock:
                    versions = state.subjects.get(subj)
                    if not versions:
                        return self.error(404, 40401, "Subject '%s' not found." % subj)
                    v = len(versions) if m.group(2) == "latest" else int(m.group(2))
                    if not 1 <= v <= len(versions):
                        return self.error(404, 40402, "Version %d not found." % v)
                    sid = versions[v - 1]
                    text = state.by_id[sid][0]
                return self.reply(200, {"subject": subj, "id": sid, "version": v, "schema": text})
            m = re.fullmatch(r"/subjects/([^/]+)", path)
            if m and method == "POST":
                return self.lookup(unquote(m.group(1)), req)
            m = re.fullmatch(r"/schemas/ids/(-?\d+)", path)
            if m and method == "GET":
                sid = int(m.group(1))
                with state.lock:
                    if sid not in state.by_id:
                        return self.error(404, 40403, "Schema %d not found" % sid)
                    text, stype = state.by_id[sid]
                out = {"schema": text}
                if stype != "AVRO":
                    out["schemaType"] = stype
                return self.reply(200, out)
            if path == "/subjects" and method == "GET":
                with state.lock:
                    return self.reply(200, sorted(state.subjects))
            m = re.fullmatch(r"/config(?:/([^/]+))?", path)
            if m:
                subj = unquote(m.group(1)) if m.group(1) else None
                with state.lock:
                    if method == "PUT":
                        level = (req or {}).get("compatibility", "")
                        if level not in ("BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD",
                                         "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE", "NONE"):
                            return self.error(422, 42203, "Invalid compatibility level")
                        if subj:
                            state.subject_config[subj] = level
                        else:
                            state.config["compatibility"] = level
                        return self.reply(200, {"compatibility": level})
                    level = state.subject_config.get(subj, state.config["compatibility"])
                    return self.reply(200, {"compatibilityLevel": level})
            return self.error(404, 404, "HTTP 404 Not Found")

        def schema_of(self, req):
            if not isinstance(req, dict) or not isinstance(req.get("schema"), str):
                self.error(422, 42201, "Either the input schema or one of its references is invalid")
                return None, None
            text, stype = req["schema"], req.get("schemaType", "AVRO")
            try:
                json.loads(text)
            except ValueError:
                self.error(422, 42201, "Invalid schema: not JSON")
                return None, None
            return text, stype

        def register(self, subj, req):
            text, stype = self.schema_of(req)
            if text is None:
                return None
            with state.lock:
                versions = state.subjects.get(subj, [])
                existing = state.by_text.get((text, stype))
                if existing is not None and existing in versions:
                    return self.reply(200, {"id": existing})
                level = state.subject_config.get(subj, state.config["compatibility"])
                if versions and level.startswith("BACKWARD"):
                    problem = backward_problem(state.by_id[versions[-1]][0], text)
                    if problem:
                        return self.error(409, 409, "Schema being registered is incompatible "
                                          "with an earlier schema for subject \"%s\": %s" % (subj, problem))
                sid = state.id_for(text, stype)
                state.subjects.setdefault(subj, []).append(sid)
            return self.reply(200, {"id": sid})

        def lookup(self, subj, req):
            text, stype = self.schema_of(req)
            if text is None:
                return None
            with state.lock:
                if subj not in state.subjects:
                    return self.error(404, 40401, "Subject '%s' not found." % subj)
                sid = state.by_text.get((text, stype))
                if sid is None or sid not in state.subjects[subj]:
                    return self.error(404, 40403, "Schema not found")
                version = state.subjects[subj].index(sid) + 1
            return self.reply(200, {"subject": subj, "id": sid, "version": version, "schema": text})

        def do_GET(self):
            self.handle_any("GET")

        def do_POST(self):
            self.handle_any("POST")

        def do_PUT(self):
            self.handle_any("PUT")

    return Handler


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--auth", default="")
    ap.add_argument("--preload", action="append", default=[], help="ID:FILE[:TYPE]")
    ap.add_argument("--first-id", type=int, default=1)
    args = ap.parse_args()
    state = State(args.first_id)
    for p in args.preload:
        parts = p.split(":")
        sid, fname = int(parts[0]), parts[1]
        stype = parts[2] if len(parts) > 2 else "AVRO"
        with open(fname) as f:
            text = f.read()
        state.by_id[sid] = (text, stype)
        state.by_text[(text, stype)] = sid
    srv = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state, args.auth))
    srv.daemon_threads = True
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(args.port_file + ".tmp", args.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
