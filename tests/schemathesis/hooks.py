"""Schemathesis hooks for `run.sh`: what a real client does, or what HTTP says, that
a generator cannot know from the document alone."""

import re
import uuid

import schemathesis

VALID_KEY = re.compile(r"^[!-~]{1,255}$")


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    # An Idempotency-Key names one request: the server answers a different request
    # under a key already used with 422 (as the IETF idempotency-key draft says).
    # Generated keys repeat ("0", "A"), so each valid one gets a unique suffix, as a
    # client's fresh key would be; invalid keys stay as they are, for the negative
    # tests.
    headers = case.headers or {}
    key = headers.get("Idempotency-Key")
    if isinstance(key, str) and VALID_KEY.match(key):
        headers["Idempotency-Key"] = (key[:200] + "-" + uuid.uuid4().hex)[:255]


@schemathesis.hook
def filter_headers(ctx, headers):
    # A request is not wrong for carrying a header the document does not name:
    # RFC 9110 section 5.1 has recipients ignore header fields they do not know
    # (proxies and browsers add their own). Cases whose only fault is such a header
    # are dropped rather than expected to be refused.
    return not any(name.lower().startswith("x-schemathesis-unknown") for name in (headers or {}))
