#!/usr/bin/python3
"""cardcheck: checks Teams bodies for the tests of qsteams.

    cardcheck.py adaptive|messagecard FILE     one body a line (qsteams -n)
    cardcheck.py adaptive|messagecard --log LOG PATH   the bodies slackd.py logged for PATH

Each body must be valid JSON of at most 28 KB, hold the fields the Adaptive Card 1.4 schema (or
the MessageCard format) requires, with the element and action types it knows, and no text in it
may hold what Teams renders as formatting, a link, an autolink, a mention, an HTML tag or an
entity: every "://" is in a URL field. Prints one line per problem and exits 1, or prints the
number of bodies checked.
"""
import json
import re
import sys

LIMIT = 28 * 1024
URL_KEYS = {"url", "uri", "$schema", "@context"}
ELEMENTS = {"TextBlock": ["text"], "FactSet": ["facts"], "Container": ["items"],
            "ActionSet": ["actions"]}
ACTIONS = {"Action.OpenUrl": ["url"]}
BAD_TEXT = [
    (re.compile(r"\*\*|__"), "emphasis markers"),
    (re.compile(r"\]\("), "a Markdown link"),
    (re.compile(r"<[A-Za-z/!?]"), "an HTML tag or autolink"),
    (re.compile(r"&[A-Za-z0-9#]"), "an HTML entity"),
    (re.compile(r"://"), "a URL outside a URL field"),
    (re.compile(r"(?i)www\."), "a www. autolink"),
    (re.compile(r"`"), "a code marker"),
    (re.compile(r"@[A-Za-z0-9]"), "a mention or mail autolink"),
    (re.compile(r"(?m)^[ \t]*([-+*#>]|\d+[.)])[ \t]"), "a list, heading or quote"),
]


def texts(node, key=None):
    """Every string value that is shown as text, with its key."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from texts(v, k)
    elif isinstance(node, list):
        for v in node:
            yield from texts(v, key)
    elif isinstance(node, str) and key not in URL_KEYS and key not in ("type", "@type"):
        yield key, node


def need(obj, keys, where, errors):
    for k in keys:
        if k not in obj:
            errors.append("%s: no %r" % (where, k))


def check_element(e, where, errors):
    if not isinstance(e, dict) or e.get("type") not in ELEMENTS:
        errors.append("%s: unknown element %r" % (where, e.get("type") if isinstance(e, dict) else e))
        return
    need(e, ELEMENTS[e["type"]], where, errors)
    if e["type"] == "TextBlock" and not isinstance(e.get("text"), str):
        errors.append("%s: TextBlock text not a string" % where)
    if e["type"] == "FactSet":
        for f in e.get("facts", []):
            if not (isinstance(f.get("title"), str) and isinstance(f.get("value"), str)):
                errors.append("%s: a fact without title and value strings" % where)
    if e["type"] == "Container":
        for i, item in enumerate(e.get("items", [])):
            check_element(item, "%s.items[%d]" % (where, i), errors)
    if e["type"] == "ActionSet":
        check_actions(e.get("actions", []), where, errors)


def check_actions(actions, where, errors):
    for a in actions:
        if a.get("type") not in ACTIONS:
            errors.append("%s: unknown action %r" % (where, a.get("type")))
            continue
        need(a, ACTIONS[a["type"]], where, errors)
        if not str(a.get("url", "")).startswith(("https://", "http://")):
            errors.append("%s: action URL not http(s)" % where)


def check_adaptive(b, errors):
    if b.get("type") != "message" or not isinstance(b.get("attachments"), list) or len(b["attachments"]) != 1:
        errors.append("not a message with one attachment")
        return
    att = b["attachments"][0]
    if att.get("contentType") != "application/vnd.microsoft.card.adaptive":
        errors.append("attachment contentType %r" % att.get("contentType"))
    card = att.get("content", {})
    if card.get("type") != "AdaptiveCard" or card.get("version") != "1.4":
        errors.append("content is not an AdaptiveCard 1.4")
    if not isinstance(card.get("body"), list) or not card["body"]:
        errors.append("card without a body")
    for i, e in enumerate(card.get("body", [])):
        check_element(e, "body[%d]" % i, errors)
    check_actions(card.get("actions", []), "actions", errors)


def check_messagecard(b, errors):
    if b.get("@type") != "MessageCard" or b.get("@context") != "https://schema.org/extensions":
        errors.append("not a MessageCard")
    if not isinstance(b.get("summary"), str) and not isinstance(b.get("text"), str):
        errors.append("MessageCard without summary or text")
    for s in b.get("sections", []):
        for f in s.get("facts", []):
            if not (isinstance(f.get("name"), str) and isinstance(f.get("value"), str)):
                errors.append("a fact without name and value strings")
        for a in s.get("potentialAction", []):
            check_open_uri(a, errors)
    for a in b.get("potentialAction", []):
        check_open_uri(a, errors)


def check_open_uri(a, errors):
    if a.get("@type") != "OpenUri" or not a.get("name") or not a.get("targets"):
        errors.append("a potentialAction that is not an OpenUri with a name and targets")
    for t in a.get("targets", []):
        if not str(t.get("uri", "")).startswith(("https://", "http://")):
            errors.append("an OpenUri target not http(s)")


def check(kind, raw, n, errors):
    before = len(errors)
    if len(raw) > LIMIT:
        errors.append("body %d: %d bytes, over 28 KB" % (n, len(raw)))
    try:
        b = json.loads(raw)
    except ValueError as e:
        errors.append("body %d: not JSON: %s" % (n, e))
        return
    (check_adaptive if kind == "adaptive" else check_messagecard)(b, errors)
    for key, text in texts(b):
        for rx, what in BAD_TEXT:
            if rx.search(text):
                errors.append("body %d: %s in %s: %r" % (n, what, key, text[:120]))
    for i in range(before, len(errors)):
        if not errors[i].startswith("body"):
            errors[i] = "body %d: %s" % (n, errors[i])


def main():
    kind = sys.argv[1]
    if sys.argv[2] == "--log":
        bodies = [r["body"].encode() for r in map(json.loads, open(sys.argv[3]))
                  if r["path"] == sys.argv[4]]
    else:
        bodies = [line.rstrip(b"\n") for line in open(sys.argv[2], "rb")]
    errors = []
    for n, raw in enumerate(bodies, 1):
        check(kind, raw, n, errors)
    for e in errors:
        print(e)
    if not bodies:
        print("no bodies")
        return 1
    if errors:
        return 1
    print(len(bodies))
    return 0


if __name__ == "__main__":
    sys.exit(main())
