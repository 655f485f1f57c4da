#!/usr/bin/python3
"""Checks docker-compose.yml (and the files it mounts) against the real executables, without a
Docker engine. For every container that runs our image:
  - each streamscore-* executable in its entrypoint/command exists in --bin;
  - each --key on its command line is a key that executable declares (--config-markdown);
  - each SS_* environment variable is the env name of a declared key of that executable
    (or the generic SS_LOG_LEVEL / SS_LOG_FORMAT);
  - the executable accepts the whole configuration: it is run with the container's SS_*
    environment, its arguments and --dump-config, so ss_cfg validates types, ranges and choices;
  - long-running services have metrics.port > 0 (effective value from the dump), bind a
    non-loopback address, publish that port, probe /livez on it, and Prometheus scrapes
    <service>:<metrics.port>; every Prometheus target names such a service and port.
Also: depends_on names exist, named volumes are declared, bind-mount sources exist, every
streamscore_* metric in the dashboard and alert rules is registered somewhere in the sources,
and every shared library our executables link comes from a package the Dockerfile's runtime
stage installs (or one that debian:12-slim has).
Prints one line per problem and exits 1 if there was any."""
import argparse
import base64
import glob
import json
import os
import re
import shlex
import subprocess
import sys

import yaml

SEPARATORS = {"&&", "||", ";", "|", "{", "}", "(", ")", ";;", "&"}
GENERIC_ENV = {"SS_LOG_LEVEL", "SS_LOG_FORMAT"}
BUILTIN_OPTS = {"help", "dump-config", "config-markdown", "config"}
# Packages present in debian:12-slim (dpkg -l of the image): libraries from these need no install.
SLIM_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g", "libzstd1", "liblz4-1",
                 "libssl3", "libselinux1", "libpcre2-8-0", "libgmp10", "libcrypt1"}

# Sanitizer runtimes appear only in the -DSS_SANITIZE test build, never in an image.
SANITIZER_PACKAGES = {"libasan8", "libubsan1", "liblsan0", "libtsan2"}

problems = []


def fail(msg):
    problems.append(msg)
    print("FAIL: " + msg)


def interpolate(s):
    """Compose variable syntax with defaults: ${VAR:-default} / ${VAR-default} / ${VAR}."""
    def rep(m):
        name, default = m.group(1), m.group(3) or ""
        return os.environ.get(name) or default
    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:?-([^}]*))?\}", rep, s)


def as_list(v):
    if v is None:
        return []
    if isinstance(v, str):
        return shlex.split(v)
    return [str(x) for x in v]


def env_of(svc):
    env = svc.get("environment") or {}
    if isinstance(env, list):
        out = {}
        for item in env:
            k, _, v = str(item).partition("=")
            out[k] = v
        return out
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def tokens(argv):
    """entrypoint+command as one token stream; shell scripts (an element with spaces after
    'sh -c') are split with shell punctuation so '&&' etc. separate commands."""
    out = []
    for a in argv:
        if any(c.isspace() for c in a) or any(c in a for c in "&|;{}"):
            lex = shlex.shlex(a, posix=True, punctuation_chars=True)
            lex.whitespace_split = True
            out.extend(list(lex))
        else:
            out.append(a)
    return out


def invocations(argv):
    """[(executable, [args...])] for every streamscore-* command in the token stream."""
    toks = tokens(argv)
    res = []
    i = 0
    while i < len(toks):
        t = toks[i]
        base = os.path.basename(t)
        if base.startswith("streamscore-"):
            j = i + 1
            while j < len(toks) and toks[j] not in SEPARATORS:
                j += 1
            res.append((base, toks[i + 1:j]))
            i = j
        else:
            i += 1
    return res


_decl_cache = {}


def declared(binpath):
    """{key: env_name} and the env prefix from `exe --config-markdown`."""
    if binpath in _decl_cache:
        return _decl_cache[binpath]
    r = subprocess.run([binpath, "--config-markdown"], capture_output=True, text=True, timeout=30,
                       env={"PATH": "/usr/bin:/bin"})
    keys = {}
    prefix = None
    for line in r.stdout.splitlines():
        m = re.match(r"\|\s*`([^`]+)`\s*\|[^|]*\|[^|]*\|\s*`(SS_[A-Z0-9_]+)`\s*\|", line)
        if m:
            keys[m.group(1)] = m.group(2)
        m = re.search(r"Environment prefix: `(SS_[A-Z0-9_]+_)`", line)
        if m:
            prefix = m.group(1)
    if r.returncode != 0 or not keys:
        fail("%s --config-markdown: exit %d, %d keys parsed: %s" %
             (binpath, r.returncode, len(keys), r.stderr.strip()[:200]))
    _decl_cache[binpath] = (keys, prefix)
    return keys, prefix


def dump_config(binpath, args, env):
    run_env = {"PATH": "/usr/bin:/bin"}
    run_env.update({k: v for k, v in env.items() if k.startswith("SS_")})
    r = subprocess.run([binpath] + args + ["--dump-config"], capture_output=True, text=True,
                       timeout=30, env=run_env, stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        return None, r.stderr.strip()
    vals = {}
    for line in r.stdout.splitlines():
        if line.startswith("#") or "=" not in line:
            continue
        k, _, v = line.partition("=")
        vals[k] = v
    return vals, ""


def published_container_ports(svc):
    out = set()
    for p in svc.get("ports") or []:
        if isinstance(p, dict):
            out.add(int(p.get("target")))
            continue
        s = str(p).split("/")[0]
        out.add(int(s.rsplit(":", 1)[-1]))
    for p in svc.get("expose") or []:
        out.add(int(str(p).split("/")[0]))
    return out


def healthcheck_ports(svc):
    hc = svc.get("healthcheck") or {}
    test = " ".join(as_list(hc.get("test")))
    return {int(m) for m in re.findall(r"//(?:localhost|127\.0\.0\.1):(\d+)/", test)}


def prometheus_targets(path):
    cfg = yaml.safe_load(open(path))
    out = {}
    for job in cfg.get("scrape_configs") or []:
        for sc in job.get("static_configs") or []:
            for t in sc.get("targets") or []:
                out.setdefault(job["job_name"], []).append(t)
    return out


def source_metric_names(src):
    names = set()
    for pat in ("services/**/*.c", "tools/**/*.c", "common/*.c"):
        for f in glob.glob(os.path.join(src, pat), recursive=True):
            names.update(re.findall(r'"(streamscore_[a-z0-9_]+)"', open(f, errors="replace").read()))
    return names


def runtime_packages(dockerfile):
    text = open(dockerfile).read()
    stages = re.split(r"(?m)^FROM\s+", text)
    last = stages[-1]
    pkgs = set()
    for m in re.finditer(r"apt-get install([^&]*)", last):
        pkgs.update(w for w in m.group(1).replace("\\", " ").split() if not w.startswith("-"))
    return pkgs


def needed_packages(binpath):
    """Debian packages of the libraries the executable links directly (DT_NEEDED)."""
    r = subprocess.run(["readelf", "-d", binpath], capture_output=True, text=True)
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", r.stdout)
    ldd = subprocess.run(["ldd", binpath], capture_output=True, text=True).stdout
    paths = dict(re.findall(r"^\s*(\S+) => (\S+)", ldd, re.M))
    pkgs = {}
    for lib in needed:
        path = paths.get(lib)
        if not path:
            continue
        real = os.path.realpath(path)
        for cand in (real, path, "/usr" + path if not path.startswith("/usr") else path[4:]):
            q = subprocess.run(["dpkg", "-S", cand], capture_output=True, text=True)
            if q.returncode == 0:
                pkgs[lib] = q.stdout.split(":")[0]
                break
    return pkgs


def check_kafka(services):
    """KRaft broker settings of apache/kafka containers; returns the advertised host:port set."""
    advertised = set()
    for name, svc in services.items():
        if not str(svc.get("image", "")).startswith("apache/kafka") or "KAFKA_PROCESS_ROLES" not in env_of(svc):
            continue
        env = env_of(svc)
        cid = env.get("CLUSTER_ID", "")
        try:
            raw = base64.urlsafe_b64decode(cid + "=" * (-len(cid) % 4))
        except ValueError:
            raw = b""
        if len(cid) != 22 or len(raw) != 16:
            fail("%s: CLUSTER_ID '%s' is not a base64url Kafka Uuid (22 chars, 16 bytes)" % (name, cid))
        names = lambda v: {l.split("://")[0] for l in v.split(",") if l}
        listeners = names(env.get("KAFKA_LISTENERS", ""))
        protomap = {kv.split(":")[0] for kv in env.get("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "").split(",") if kv}
        for l in listeners - protomap:
            fail("%s: listener %s is missing from KAFKA_LISTENER_SECURITY_PROTOCOL_MAP" % (name, l))
        for l in names(env.get("KAFKA_ADVERTISED_LISTENERS", "")) - listeners:
            fail("%s: advertised listener %s is not in KAFKA_LISTENERS" % (name, l))
        for l in env.get("KAFKA_CONTROLLER_LISTENER_NAMES", "").split(","):
            if l and l not in listeners:
                fail("%s: controller listener %s is not in KAFKA_LISTENERS" % (name, l))
        voters = env.get("KAFKA_CONTROLLER_QUORUM_VOTERS", "")
        if env.get("KAFKA_NODE_ID") and not any(v.split("@")[0] == env["KAFKA_NODE_ID"] for v in voters.split(",")):
            fail("%s: KAFKA_NODE_ID %s is not among the quorum voters '%s'" % (name, env["KAFKA_NODE_ID"], voters))
        for l in env.get("KAFKA_ADVERTISED_LISTENERS", "").split(","):
            if "://" in l:
                advertised.add(l.split("://")[1])
    return advertised


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--compose", help="default: <source>/docker-compose.yml")
    ap.add_argument("--no-libs", action="store_true",
                    help="skip the (slow) check of linked libraries against the Dockerfile")
    args = ap.parse_args()
    src, bindir = args.source, args.bin
    compose_path = args.compose or os.path.join(src, "docker-compose.yml")
    prom_path = os.path.join(src, "deploy/prometheus/prometheus.yml")
    doc = yaml.safe_load(open(compose_path))
    services = doc.get("services") or {}
    volumes = set((doc.get("volumes") or {}).keys())
    targets = prometheus_targets(prom_path)
    advertised = check_kafka(services)
    scraped = {t for ts in targets.values() for t in ts}
    metrics_ports = {}  # service -> metrics.port
    ours_services = set()
    exes_used = set()
    checked = 0

    for name, svc in services.items():
        for dep in (svc.get("depends_on") or {}):
            if dep not in services:
                fail("%s: depends_on unknown service '%s'" % (name, dep))
        for v in svc.get("volumes") or []:
            vs = v if isinstance(v, str) else "%s:%s" % (v.get("source"), v.get("target"))
            source = interpolate(vs).split(":")[0]
            if source.startswith((".", "/")):
                if not os.path.exists(os.path.join(src, source)):
                    fail("%s: bind mount source '%s' does not exist" % (name, source))
            elif source not in volumes:
                fail("%s: named volume '%s' is not declared under volumes:" % (name, source))
        ours = svc.get("image") == "streamscore:local" or "build" in svc
        if not ours:
            continue
        ours_services.add(name)
        argv = as_list(svc.get("entrypoint")) + as_list(svc.get("command"))
        invs = invocations(argv)
        if not invs:
            fail("%s: runs our image but no streamscore-* command (%r)" % (name, argv))
            continue
        env = env_of(svc)
        prefixes = []
        keys_union = {}
        long_running = str(svc.get("restart", "")) not in ("no", "False", "false")
        for exe, exe_args in invs:
            exes_used.add(exe)
            path = os.path.join(bindir, exe)
            if not os.access(path, os.X_OK):
                fail("%s: executable '%s' is not built (%s)" % (name, exe, path))
                keys_union = None
                continue
            keys, prefix = declared(path)
            prefixes.append(prefix)
            if keys_union is not None:
                keys_union.update(keys)
            for a in exe_args:
                if a.startswith("--"):
                    key = a[2:].split("=", 1)[0]
                    if key not in keys and key not in BUILTIN_OPTS:
                        fail("%s: '%s %s': '%s' is not a key of %s" % (name, exe, a, key, exe))
            # the executable itself validates the whole configuration
            own_env = {k: v for k, v in env.items() if prefix and k.startswith(prefix)}
            own_env.update({k: v for k, v in env.items() if k in GENERIC_ENV})
            vals, why = dump_config(path, exe_args, own_env)
            if vals is None:
                fail("%s: %s rejects its configuration: %s" % (name, exe, why))
                continue
            checked += 1
            for b in (vals.get("brokers") or "").split(","):
                if b and advertised and b not in advertised:
                    fail("%s: brokers '%s' is not an advertised Kafka listener (%s)" %
                         (name, b, ", ".join(sorted(advertised))))
            port = int(vals.get("metrics.port") or 0) if "metrics.port" in keys else 0
            if long_running and len(invs) == 1:
                if port <= 0:
                    fail("%s: long-running but metrics.port is %d (Prometheus cannot scrape it)" %
                         (name, port))
                    continue
                metrics_ports[name] = port
                bind = vals.get("metrics.bind", "")
                if "metrics.bind" not in keys:
                    fail("%s: %s declares no metrics.bind: its listener stays on 127.0.0.1 and "
                         "cannot be scraped from another container" % (name, exe))
                elif bind in ("127.0.0.1", "::1", "localhost"):
                    fail("%s: metrics.bind is %s: not reachable from Prometheus" % (name, bind))
                if port not in published_container_ports(svc):
                    fail("%s: metrics.port %d is not in ports/expose" % (name, port))
                hp = healthcheck_ports(svc)
                if hp and hp != {port}:
                    fail("%s: healthcheck probes port %s, metrics.port is %d" % (name, sorted(hp), port))
                if not hp:
                    fail("%s: no HTTP healthcheck on metrics.port %d" % (name, port))
                if "%s:%d" % (name, port) not in scraped:
                    fail("%s: Prometheus does not scrape %s:%d" % (name, name, port))
        if keys_union is None:
            continue  # reported above; its keys are unknown
        env_names = set(keys_union.values())
        for k in env:
            if not k.startswith("SS_") or k in GENERIC_ENV:
                continue
            if k not in env_names:
                fail("%s: environment %s matches no key of %s" %
                     (name, k, ", ".join(e for e, _ in invs)))

    for job, ts in targets.items():
        for t in ts:
            host, _, port = t.rpartition(":")
            if host in ("localhost", "127.0.0.1"):
                continue
            if host not in services:
                fail("prometheus job %s: target %s names no compose service" % (job, t))
            elif host not in ours_services:
                fail("prometheus job %s: target %s is not a streamscore service" % (job, t))
            elif host in metrics_ports and metrics_ports[host] != int(port):
                fail("prometheus job %s: target %s, but %s's metrics.port is %s" %
                     (job, t, host, metrics_ports.get(host)))

    known = source_metric_names(src)
    dash = json.load(open(os.path.join(src, "deploy/grafana/dashboards/streamscore.json")))
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    rules = yaml.safe_load(open(os.path.join(src, "deploy/prometheus/alerts.yml")))
    exprs += [r["expr"] for g in rules["groups"] for r in g["rules"]]
    for e in exprs:
        for m in re.findall(r"streamscore_[a-z0-9_]+", e):
            base = re.sub(r"_(bucket|sum|count)$", "", m)
            if m not in known and base not in known:
                fail("metric %s (in '%s') is registered nowhere in the sources" % (m, e))

    pkgs = runtime_packages(os.path.join(src, "Dockerfile"))
    for exe in sorted(exes_used) if not args.no_libs else []:
        path = os.path.join(bindir, exe)
        if not os.access(path, os.X_OK):
            continue
        for lib, pkg in sorted(needed_packages(path).items()):
            if pkg not in pkgs and pkg not in SLIM_PACKAGES and pkg not in SANITIZER_PACKAGES:
                fail("%s links %s from package %s, which the Dockerfile runtime stage does not "
                     "install" % (exe, lib, pkg))

    print("compose_check: %d services, %d executables run with --dump-config, %d scraped "
          "services, %d metric expressions, %d problems" %
          (len(services), checked, len(metrics_ports), len(exprs), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
