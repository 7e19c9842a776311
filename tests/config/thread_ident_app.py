"""A WSGI app for test_gunicorn_worker.py: answers with the serving thread's identity, after sleeping
`?sleep=` seconds (at most 2)."""

import threading
import time
from urllib.parse import parse_qs


def application(environ, start_response):
    sleep = parse_qs(environ.get("QUERY_STRING", "")).get("sleep", ["0"])[0]
    time.sleep(min(float(sleep), 2.0))
    body = str(threading.get_ident()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
