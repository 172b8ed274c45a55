"""Evaluates every metric of an Argo AnalysisTemplate (Prometheus provider) through Prometheus's HTTP API, the way
Argo's Prometheus provider does (an instant query; a vector becomes `result`, a list of its values), for a healthy and
a drifted canary. Called by analysis.sh, which starts the servers and Prometheus."""
import argparse
import http.client
import json
import random
import sys
import time
import urllib.parse
import urllib.request

import yaml

DRIFT_METRICS = {"score-psi", "unseen-share", "missing-share-change"}


def bodies(path, drifted, rng):
    with open(path, encoding="utf-8") as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) != 40:
                continue
            body = {}
            for i in range(13):
                v = cols[1 + i]
                body[f"I{i + 1}"] = None if v == "" or (drifted and i < 6) else int(v)
            for i in range(26):
                v = cols[14 + i]
                # Drifted: another id space in every categorical field, and I1-I6 stop arriving.
                body[f"C{i + 1}"] = (f"{rng.getrandbits(32):08x}" if drifted and v != "" else (v or None))
            yield json.dumps(body).encode()


def send(base, payloads):
    url = urllib.parse.urlparse(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    failed = 0
    for body in payloads:
        conn.request("POST", "/predict", body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        failed += response.status >= 500
    conn.close()
    return failed


def query(prometheus, text):
    url = f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": text})
    with urllib.request.urlopen(url, timeout=10) as r:
        data = json.load(r)
    if data["status"] != "success":
        raise RuntimeError(data)
    result = data["data"]
    if result["resultType"] == "vector":
        return [float(s["value"][1]) for s in result["result"]]
    if result["resultType"] == "scalar":
        return [float(result["result"][1])]
    raise RuntimeError(f"unexpected result type {result['resultType']}")


def condition(text, result):
    # Argo's conditions are expr expressions; the template's use only result[0], comparisons, && and ||.
    return bool(eval(text.replace("&&", " and ").replace("||", " or "), {"__builtins__": {}}, {"result": result}))


def evaluate(template, args, prometheus):
    rows = {}
    for metric in template["spec"]["metrics"]:
        text = metric["provider"]["prometheus"]["query"]
        for name, value in args.items():
            text = text.replace("{{args.%s}}" % name, value)
        result = query(prometheus, text)
        # An empty vector is an Error measurement in Argo, never a success.
        passed = bool(result) and condition(metric["successCondition"], result)
        rows[metric["name"]] = (result[0] if result else None, metric["successCondition"], passed)
    return rows


def show(title, rows):
    print(f"== {title}")
    print(f"   {'metric':<22} {'value':>12}  {'success condition':<36} result")
    for name, (value, cond, passed) in rows.items():
        shown = "(empty)" if value is None else f"{value:.4f}"
        print(f"   {name:<22} {shown:>12}  {cond:<36} {'PASS' if passed else 'FAIL'}")


def settle(prometheus, args, seconds=6):
    # Let a few scrapes land after the traffic (scrape_interval 1s), as the template's initialDelay does.
    time.sleep(seconds)


def wait_for_targets(prometheus, count=2, seconds=60):
    # Both servers scraped at least once before any traffic, so rate() sees the counters rise.
    deadline = time.time() + seconds
    while time.time() < deadline:
        if len([v for v in query(prometheus, 'up{job="ctr-inference"} == 1')]) == count:
            return
        time.sleep(0.5)
    raise RuntimeError("Prometheus did not scrape both servers")


def spread(stable, canary, stable_bodies, canary_bodies, chunks=10):
    # Traffic over several scrapes (about a second apart), as live traffic is, not in one burst between two scrapes.
    failed = 0
    for i in range(chunks):
        failed += send(stable, stable_bodies[i::chunks]) + send(canary, canary_bodies[i::chunks])
        time.sleep(0.5)
    return failed


def main():
    p = argparse.ArgumentParser()
    for name in ["template", "prometheus", "stable", "canary", "stable-hash", "canary-hash", "live"]:
        p.add_argument("--" + name, required=True)
    p.add_argument("--window", type=int, default=2000)
    a = p.parse_args()
    with open(a.template, encoding="utf-8") as f:
        template = yaml.safe_load(f)
    args = {x["name"]: x.get("value", "") for x in template["spec"]["args"]}
    args.update({"canary-hash": a.canary_hash, "stable-hash": a.stable_hash, "prometheus-address": a.prometheus})
    rng = random.Random(7)
    n = a.window + 500

    live = list(bodies(a.live, False, rng))
    wait_for_targets(a.prometheus)
    failed = spread(a.stable, a.canary, live[:n], live[:n])
    settle(a.prometheus, args)
    healthy = evaluate(template, args, a.prometheus)
    show(f"healthy canary: the same {n} live impressions to v1 (stable) and v2 (canary); {failed} 5xx", healthy)

    drifted_stream = list(bodies(a.live, True, rng))
    failed = spread(a.stable, a.canary, live[n:2 * n], drifted_stream[n:2 * n])
    settle(a.prometheus, args)
    drifted = evaluate(template, args, a.prometheus)
    show(f"drifted canary: {n} more live impressions to v1, {n} drifted ones (new ids, I1-I6 missing) to v2; {failed} 5xx", drifted)

    problems = [f"healthy {k} should pass" for k, (_, _, ok) in healthy.items() if not ok]
    problems += [f"drifted {k} should fail" for k in DRIFT_METRICS if drifted[k][2]]
    problems += [f"drifted {k} should pass (no errors, enough impressions)" for k in ("canary-impressions", "error-rate") if not drifted[k][2]]
    if problems:
        print("UNEXPECTED: " + "; ".join(problems))
        sys.exit(1)
    print("as expected: every condition passes for the healthy canary; PSI, unseen share and missing share fail for the drifted one")


if __name__ == "__main__":
    main()
