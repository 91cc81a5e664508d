#!/usr/bin/python3
"""mailcheck: parses mail with Python's email package, for qsmail's tests.

    mailcheck.py FILE...      each FILE a message (N.eml) or, with --mbox, qsmail -n's output

Prints one JSON object a message: "subject", "from", "to" (decoded), "headers" (the names, in
order, as received), "exec_ids", "in_reply_to", "references", "message_id", "date", "parts"
(content types), "text" and "html" (the decoded bodies), "defects" (the parser's, as text),
"max_line" (the longest line in bytes, without CRLF), "bare" (a CR or LF not in a CRLF),
"eight_bit" (a byte over 0x7f anywhere), "size".
"""
import email
import email.policy
import json
import sys


def check(raw):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    lines = raw.split(b"\r\n")
    out = {
        "subject": str(msg["Subject"]) if msg["Subject"] is not None else None,
        "from": str(msg["From"]), "to": str(msg["To"]),
        "headers": list(msg.keys()),
        "exec_ids": [str(v) for v in msg.get_all("X-Qspipe-Exec-Id", [])],
        "in_reply_to": msg["In-Reply-To"], "references": msg["References"],
        "message_id": msg["Message-ID"], "date": msg["Date"],
        "parts": [p.get_content_type() for p in msg.walk()],
        "defects": [repr(d) for p in msg.walk() for d in p.defects],
        "max_line": max(len(l) for l in lines),
        "bare": any(b"\r" in l or b"\n" in l for l in lines[:-1]) or b"\n" in lines[-1],
        "eight_bit": any(b > 0x7f for b in raw),
        "size": len(raw),
    }
    try:
        out["date_ok"] = msg["Date"].datetime is not None
    except Exception:
        out["date_ok"] = False
    for kind in ("plain", "html"):
        body = msg.get_body((kind,))
        # the parts' CRLF line ends as LF, as a reader sees them
        out["text" if kind == "plain" else "html"] = body.get_content().replace("\r\n", "\n") if body else None
    return out


def main():
    args = sys.argv[1:]
    if args and args[0] == "--mbox":
        sep = b"From qsmail Thu Jan  1 00:00:00 1970\n"
        for path in args[1:]:
            with open(path, "rb") as f:
                data = f.read()
            for raw in data.split(sep)[1:]:
                print(json.dumps(check(raw[:-1])))	# the LF that ends each one
        return
    for path in args:
        with open(path, "rb") as f:
            print(json.dumps(dict(check(f.read()), file=path)))


if __name__ == "__main__":
    main()
