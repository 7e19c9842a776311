"""Check a running `make run` from outside, as a new user would, over HTTP only (stdlib, no project code).

Usage: python3 .ci/smoke_http.py <make-run log>. Reads what `make run` printed (the address, the demo
customer, the gateway token and the curl example), then:
- the pricing page in English and Chinese;
- logs in as the demo customer (allauth form with its CSRF token) and loads every console page: the
  console's pages and every console link on them, in English and Chinese (200, no error text);
- the printed curl authorize (on a re-run, where the demo key is not printed again, with a key the
  customer creates in the console), then a usage report for the same request (200 both);
- creates a management key in the console as a customer does, calls the management API with it, then
  deletes the keys it created (the deleted management key is refused afterwards).
Exits non-zero on the first failure.
"""

import http.cookiejar
import json
import re
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser

ERROR_TEXT = (
    "Traceback",
    "Internal Server Error",
    "Server Error (500)",
    "Exception Value",
    "OperationalError",
    "database is locked",
    "TemplateSyntaxError",
    "NoReverseMatch",
)
# The console's own pages (the crawl adds every console link found on them).
CONSOLE_PAGES = (
    "/console/",
    "/console/subscription/",
    "/console/usage/",
    "/console/payg/",
    "/console/management-keys/",
)
MAX_PAGES = 150
CJK = re.compile(r"[\u4e00-\u9fff]")


class Failure(Exception):
    pass


def check(condition: bool, message: str) -> None:
    if not condition:
        raise Failure(message)


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []
        self.inputs: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.hrefs.append(attrs["href"])
        if tag == "input" and attrs.get("name"):
            self.inputs[attrs["name"]] = attrs.get("value") or ""


def parse(html: str) -> Links:
    parser = Links()
    parser.feed(html)
    return parser


class Browser:
    """A cookie-keeping HTTP client that follows redirects and never raises on an HTTP status."""

    def __init__(self, base: str):
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def request(self, path: str, *, data: dict | None = None, headers: dict | None = None, json_body=None):
        url = urllib.parse.urljoin(self.base, path)
        body = None
        headers = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        elif data is not None:
            body = urllib.parse.urlencode(data).encode()
        request = urllib.request.Request(url, data=body, headers=headers)
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, response.geturl(), response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            return error.code, error.geturl(), error.read().decode("utf-8", "replace")

    def csrf(self) -> str:
        return next(c.value for c in self.cookies if c.name == "csrftoken")

    def page(self, path: str) -> str:
        status, url, html = self.request(path)
        check(status == 200, f"GET {path}: {status} (at {url})")
        for text in ERROR_TEXT:
            check(text not in html, f"GET {path}: the page shows {text!r}")
        return html


def printed(log: str) -> dict:
    """What `make run` printed for a new user."""

    def line(pattern: str) -> re.Match:
        match = re.search(pattern, log, re.MULTILINE)
        check(match is not None, f"make run did not print {pattern!r}")
        return match

    login = line(r"^\s*Demo customer: (\S+) / (\S+)\s*$")
    return {
        "base": line(r"Flowport is ready at (http://\S+)").group(1).rstrip("/") + "/",
        "email": login.group(1),
        "password": login.group(2),
        "token": line(r"^\s*Gateway service token: (\S+)\s*$").group(1),
        "curl": line(r"^\s*(curl -s \S+/api/v1/gateway/authorize .*)$").group(1),
    }


def log_in(browser: Browser, email: str, password: str) -> None:
    html = browser.page("/accounts/login/")
    token = parse(html).inputs.get("csrfmiddlewaretoken")
    check(bool(token), "the login page has no CSRF token")
    status, url, html = browser.request(
        "/accounts/login/",
        data={"csrfmiddlewaretoken": token, "login": email, "password": password},
        headers={"Referer": urllib.parse.urljoin(browser.base, "/accounts/login/")},
    )
    check(status == 200 and urllib.parse.urlsplit(url).path == "/console/", f"log in: {status} at {url}")


def crawl_console(browser: Browser) -> int:
    """Every console page and every console link on them, in English and Chinese."""
    queue = list(CONSOLE_PAGES) + ["/zh-hans" + path for path in CONSOLE_PAGES]
    seen: set[str] = set()
    while queue:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        check(len(seen) <= MAX_PAGES, f"more than {MAX_PAGES} console pages: a link loop?")
        if urllib.parse.urlsplit(path).path.endswith(".csv"):  # an export: a download, not a page to crawl
            status, _url, body = browser.request(path)
            header = body.splitlines()[0] if body else ""
            check(status == 200 and "," in header, f"GET {path}: {status}, not a CSV ({header[:80]!r})")
            continue
        html = browser.page(path)
        if path.startswith("/zh-hans/"):
            check(bool(CJK.search(html)), f"GET {path}: no Chinese text")
        for href in parse(html).hrefs:
            target = urllib.parse.urlsplit(urllib.parse.urljoin(browser.base + path.lstrip("/"), href))
            if target.netloc == urllib.parse.urlsplit(browser.base).netloc and re.match(
                r"^(/zh-hans)?/console/", target.path
            ):
                queue.append(target.path + (f"?{target.query}" if target.query else ""))
    return len(seen)


def create_key(browser: Browser, kind: str, name: str) -> tuple[int, str]:
    """Create a key in the console as a customer does; the secret is shown once on the next page."""
    browser.page("/console/management-keys/" if kind == "management" else "/console/subscription/")
    status, url, html = browser.request(
        f"/console/keys/{kind}/create/", data={"csrfmiddlewaretoken": browser.csrf(), "name": name}
    )
    check(status == 200, f"create a {kind} key: {status} at {url}")
    prefix = {"management": "sk-mg-v1-", "subscription": "sk-ss-v1-"}[kind]
    secret = re.search(rf"{prefix}[A-Za-z0-9_\-]+", html)
    key_id = re.search(r'id="api-key-secret-(\d+)"', html)
    check(secret is not None and key_id is not None, f"create a {kind} key: no secret shown")
    return int(key_id.group(1)), secret.group(0)


def delete_key(browser: Browser, key_id: int) -> None:
    status, url, _html = browser.request(
        f"/console/keys/{key_id}/delete/", data={"csrfmiddlewaretoken": browser.csrf(), "confirm": "1"}
    )
    check(status == 200, f"delete key {key_id}: {status} at {url}")


def gateway(facts: dict, browser: Browser, created: list[int]) -> None:
    """The printed curl, then a usage report for its request."""
    curl = facts["curl"]
    request_id = json.loads(shlex.split(curl)[-1])["request_id"]
    if "sk-ss-v1-..." in curl:  # a re-run: the demo key was shown once, on the first run
        key_id, secret = create_key(browser, "subscription", f"Smoke test {int(time.time())}")
        created.append(key_id)
        request_id = f"smoke_{int(time.time() * 1000)}"
        curl = curl.replace("sk-ss-v1-...", secret).replace('"gen_demo_1"', json.dumps(request_id))
    result = subprocess.run(
        ["bash", "-c", curl + " -o /dev/stderr -w '%{http_code}'"], capture_output=True, text=True, timeout=60
    )
    check(result.stdout == "200", f"the printed curl authorize: {result.stdout} {result.stderr}")
    check(json.loads(result.stderr).get("success") is True, f"authorize: {result.stderr}")
    status, _url, body = browser.request(
        "/api/v1/gateway/usage",
        headers={"Authorization": f"Bearer {facts['token']}"},
        json_body={"request_id": request_id, "input_tokens": 1200, "output_tokens": 300},
    )
    check(status == 200 and json.loads(body).get("success") is True, f"usage: {status} {body}")


def management_api(browser: Browser, created: list[int]) -> None:
    key_id, secret = create_key(browser, "management", f"Smoke test {int(time.time())}")
    created.append(key_id)
    api = Browser(browser.base)  # a script of the customer's, not the logged-in browser
    for path in ("/api/v1/management/subscription/detail", "/api/v1/management/payg/balance"):
        status, _url, body = api.request(path, headers={"Authorization": f"Bearer {secret}"})
        check(status == 200 and json.loads(body).get("success") is True, f"GET {path}: {status} {body}")
    delete_key(browser, key_id)
    created.remove(key_id)
    status, _url, body = api.request(
        "/api/v1/management/subscription/detail", headers={"Authorization": f"Bearer {secret}"}
    )
    check(status == 401, f"a deleted management key: {status} {body}")


def main(log_path: str) -> int:
    with open(log_path, encoding="utf-8", errors="replace") as handle:
        facts = printed(handle.read())
    browser = Browser(facts["base"])
    created: list[int] = []
    try:
        browser.page("/pricing/")
        check(bool(CJK.search(browser.page("/zh-hans/pricing/"))), "/zh-hans/pricing/ has no Chinese text")
        log_in(browser, facts["email"], facts["password"])
        pages = crawl_console(browser)
        gateway(facts, browser, created)
        management_api(browser, created)
        for key_id in created:
            delete_key(browser, key_id)
    except Failure as failure:
        print(f"SMOKE FAILED: {failure}", file=sys.stderr)
        return 1
    print(
        f"smoke: pricing (en, zh-hans), {pages} console pages, gateway authorize + usage, management API: OK"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
