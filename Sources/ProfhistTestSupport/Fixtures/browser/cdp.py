#!/usr/bin/env python3
"""Opens an HTML file in headless Chromium and runs steps against it through the DevTools protocol.

Standard library only: Chromium's --remote-debugging-pipe speaks the protocol over file descriptors 3 (commands
in) and 4 (replies out), NUL-terminated JSON, so neither chromedriver nor a websocket library is needed.

    cdp.py CHROMIUM PAGE.html STEPS.json OUT.json

STEPS.json is a list of {"eval": "JS expression"} (its value, JSON-serialisable, is returned) and
{"screenshot": "path.png", "selector": "#css"} (a PNG of that element). OUT.json receives
{"results": [...], "requests": [every URL the page asked for], "violations": [CSP reports],
 "exceptions": [uncaught script errors], "script_ms": navigation start to the end of the page's script
 (the page's own clock), "painted_ms": to the second animation frame after it (laid out and painted),
 "load_ms": wall time from navigation to painted, seen from here; "first_paint_ms": the first contentful paint}.
"""
import base64
import json
import os
import subprocess
import sys
import tempfile
import time


class Browser:
    def __init__(self, chromium):
        self.profile = tempfile.mkdtemp(prefix="profhist-chromium-")
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()

        def child_fds():
            # Move both ends well clear of 3 and 4 first, so neither dup2 clobbers the other.
            a, b = os.dup2(to_chrome_r, 100), os.dup2(from_chrome_w, 101)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.process = subprocess.Popen(
            [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--no-default-browser-check", "--remote-debugging-pipe",
             "--user-data-dir=" + self.profile, "--window-size=1400,1000", "about:blank"],
            preexec_fn=child_fds, pass_fds=(3, 4), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buffer = b""
        self.next_id = 0
        self.events = []

    def send(self, method, params=None, session=None, timeout=60):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.time() + timeout
        while time.time() < deadline:
            reply = self.read()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)
        raise TimeoutError(method)

    def read(self):
        while b"\0" not in self.buffer:
            chunk = os.read(self.from_chrome, 1 << 20)
            if not chunk:
                err = self.process.stderr.read().decode(errors="replace")[-2000:]
                raise RuntimeError("chromium closed the protocol pipe: " + err)
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(line)

    def wait_for(self, predicate, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for event in self.events:
                if predicate(event):
                    return event
            self.events.append(self.read())
        raise TimeoutError("event")

    def close(self):
        try:
            self.send("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
"""


def main():
    chromium, page, steps_path, out_path = sys.argv[1:5]
    steps = json.load(open(steps_path))
    browser = Browser(chromium)
    out = {"results": [], "requests": [], "violations": [], "exceptions": []}
    try:
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for method in ("Network.enable", "Page.enable", "Runtime.enable"):
            browser.send(method, session=session)
        browser.send("Emulation.setDeviceMetricsOverride",
                     {"width": 1400, "height": 1000, "deviceScaleFactor": 1, "mobile": False}, session=session)
        browser.send("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_VIOLATIONS}, session=session)
        started = time.time()
        browser.send("Page.navigate", {"url": "file://" + os.path.abspath(page)}, session=session)
        browser.wait_for(lambda e: e.get("method") == "Page.loadEventFired")

        def evaluate(expression):
            result = browser.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                       "awaitPromise": True}, session=session)
            if "exceptionDetails" in result:
                raise RuntimeError(f"{expression[:80]}: {result['exceptionDetails'].get('exception', {}).get('description')}")
            return result["result"].get("value")

        while evaluate("document.body && document.body.getAttribute('data-ready')") != "1":
            if time.time() - started > 30:
                raise TimeoutError("the page never set data-ready (script error?)")
            time.sleep(0.02)
        out["script_ms"] = evaluate("Number(document.body.getAttribute('data-ready-ms'))")
        # Two animation frames after the script: layout and paint of what it drew are done.
        out["painted_ms"] = round(evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(performance.now()))))"))
        out["load_ms"] = round((time.time() - started) * 1000)
        out["first_paint_ms"] = evaluate("(performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || null")
        for step in steps:
            if "eval" in step:
                out["results"].append(evaluate(step["eval"]))
            elif "screenshot" in step:
                # Sections off screen are not painted (content-visibility: auto): paint them all for the picture,
                # then scroll the element into view and wait two frames.
                evaluate("document.querySelectorAll('section').forEach(s => s.style.contentVisibility = 'visible')")
                evaluate(f"""new Promise(done => {{ document.querySelector({json.dumps(step['selector'])}).scrollIntoView();
                    requestAnimationFrame(() => requestAnimationFrame(done)); }})""")
                box = evaluate(f"""(() => {{ const r = document.querySelector({json.dumps(step['selector'])}).getBoundingClientRect();
                    return {{x: r.left + scrollX, y: r.top + scrollY, width: r.width, height: r.height}}; }})()""")
                shot = browser.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                               "clip": dict(box, scale=1)}, session=session)
                with open(step["screenshot"], "wb") as f:
                    f.write(base64.b64decode(shot["data"]))
                out["results"].append(step["screenshot"])
        out["violations"] = evaluate("window.__violations")
    finally:
        for event in browser.events:
            if event.get("method") == "Network.requestWillBeSent":
                out["requests"].append(event["params"]["request"]["url"])
            elif event.get("method") == "Runtime.exceptionThrown":
                out["exceptions"].append(event["params"]["exceptionDetails"].get("exception", {}).get("description", "error"))
        browser.close()
        with open(out_path, "w") as f:
            json.dump(out, f)


if __name__ == "__main__":
    main()
