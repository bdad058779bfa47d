#!/usr/bin/env python3
"""gen_ai_seeds.py OUT — the seed corpus of fuzz_ai.c.

Writes inputs in fuzz_ai.c's format (header comment there): OpenAI Chat
Completions and Gemini generateContent answers of every class (ok, fenced,
bare array, plain text, truncated, blocked, refusal, rate limits with each
kind of hint, quota, 5xx, 4xx, timeout, garbage), request builds and
durations.  The bodies follow external-apis.md §5.  Deterministic: file
names are the case names, so regenerating gives the same corpus.
"""
import json
import os
import struct
import sys

OPENAI, GEMINI = 0, 1
SCHEMA = 2


def head(api, schema, wanted, mode):
    return bytes([api | (SCHEMA if schema else 0) | (wanted & 7) << 2 | mode << 5])


def answer(api, status, body, headers=(), schema=True, wanted=1, flags=1):
    if not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    h = "".join(f"{k}: {v}\n" for k, v in headers).encode()
    return (head(api, schema, wanted, 0) + struct.pack("<HB", status, flags)
            + h + b"\n" + body)


def chat(content, finish="stop", refusal=None):
    return {
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1730000000,
        "model": "gpt-4.1-mini-2025-04-14",
        "choices": [{"index": 0, "message": {"role": "assistant",
                     "content": content, "refusal": refusal},
                     "finish_reason": finish}],
        "usage": {"prompt_tokens": 19, "completion_tokens": 10, "total_tokens": 29,
                  "completion_tokens_details": {"reasoning_tokens": 0}},
    }


def gen(text, finish="STOP", block=None):
    body = {
        "candidates": [{"content": {"role": "model", "parts": [
            {"text": "thinking", "thought": True}, {"text": text}]},
            "finishReason": finish, "index": 0}],
        "usageMetadata": {"promptTokenCount": 20, "candidatesTokenCount": 60,
                          "thoughtsTokenCount": 15, "totalTokenCount": 95},
        "modelVersion": "gemini-2.5-flash",
    }
    if block:
        body = {"promptFeedback": {"blockReason": block},
                "usageMetadata": {"promptTokenCount": 7}}
    return body


def oerr(message, type_, code):
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


def gerr(code, status, message, details=()):
    return {"error": {"code": code, "message": message, "status": status,
                      "details": list(details)}}


V3 = json.dumps({"variants": ["First post", "Second post", "Third post"]})
RL_MSG = ("Rate limit reached for gpt-4.1-mini in organization org-abc on tokens "
          "per min (TPM): Limit 30000, Used 29000, Requested 1500. Please try "
          "again in 41.724s. Visit https://platform.openai.com/account/rate-limits.")
RETRY_INFO = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "31s"}


def seeds():
    s = {}
    s["openai-ok"] = answer(OPENAI, 200, chat(V3), wanted=3)
    s["openai-fewer"] = answer(OPENAI, 200, chat('{"variants":["A","B"]}'), wanted=3)
    s["openai-fenced"] = answer(OPENAI, 200, chat("```json\n" + V3 + "\n```"), wanted=3)
    s["openai-prose"] = answer(OPENAI, 200, chat("Sure:\n```\n" + V3 + "\n```\nEnjoy"), wanted=2)
    s["openai-bare-array"] = answer(OPENAI, 200, chat('["One", "Two"]'), wanted=2)
    s["openai-objects"] = answer(OPENAI, 200, chat('{"posts":[{"text":"x"},1]}'), wanted=2)
    s["openai-empty"] = answer(OPENAI, 200, chat('{"variants":[]}'))
    s["openai-blank"] = answer(OPENAI, 200, chat('{"variants":["  ","\\n"]}'), wanted=2)
    s["compat-plain"] = answer(OPENAI, 200, chat("Tea is great [1, 2]."), schema=False)
    s["compat-plain-fenced"] = answer(OPENAI, 200, chat("```\nJust text\n```"), schema=False)
    s["openai-not-ours"] = answer(OPENAI, 200, chat("Tea is great."))
    s["openai-truncated"] = answer(OPENAI, 200, chat('{"variants":["cut', "length"))
    s["openai-content-filter"] = answer(OPENAI, 200, chat(None, "content_filter"))
    s["openai-refusal"] = answer(OPENAI, 200, chat(None, "stop", "I can't help with that."))
    s["openai-tool-calls"] = answer(OPENAI, 200, chat(None, "tool_calls"))
    s["openai-parts"] = answer(OPENAI, 200, chat([{"type": "text", "text": V3}]), wanted=3)
    s["openai-rate-limit-message"] = answer(OPENAI, 429, oerr(RL_MSG, "tokens", "rate_limit_exceeded"))
    s["openai-rate-limit-headers"] = answer(OPENAI, 429, oerr("slow down", "requests", "rate_limit_exceeded"), [
        ("x-ratelimit-remaining-requests", "0"), ("x-ratelimit-reset-requests", "1s"),
        ("x-ratelimit-remaining-tokens", "1000"), ("x-ratelimit-reset-tokens", "6m0s")])
    s["openai-rate-limit-retry-after"] = answer(OPENAI, 429, oerr(RL_MSG, "tokens", "rate_limit_exceeded"), [
        ("retry-after", "20"), ("retry-after-ms", "1500")])
    s["openai-rate-limit-date"] = answer(OPENAI, 429, "{}", [("Retry-After", "Thu, 01 Jan 2026 00:01:00 GMT")])
    s["openai-insufficient-quota"] = answer(OPENAI, 429, oerr(
        "You exceeded your current quota, please check your plan and billing details.",
        "insufficient_quota", "insufficient_quota"))
    s["openai-500"] = answer(OPENAI, 500, oerr("The server had an error.", "server_error", None))
    s["openai-502-html"] = answer(OPENAI, 502, "<html><body>Bad Gateway</body></html>")
    s["openai-401"] = answer(OPENAI, 401, oerr("Incorrect API key provided: sk-FUZZ/key+7f3a9c=.",
                                                "invalid_request_error", "invalid_api_key"))
    s["openai-404"] = answer(OPENAI, 404, oerr("The model `gpt-9` does not exist",
                                                "invalid_request_error", "model_not_found"))
    s["compat-422"] = answer(OPENAI, 422, '{"detail":"bad field"}', schema=False)
    s["compat-string-error"] = answer(OPENAI, 400, '{"error":"plain string error"}', schema=False)
    s["openai-timeout"] = answer(OPENAI, 0, "", flags=3)
    s["openai-not-sent"] = answer(OPENAI, 0, "", flags=0)
    s["openai-garbage"] = answer(OPENAI, 200, b"\xff\xfe{not json")
    s["gemini-ok"] = answer(GEMINI, 200, gen(V3), wanted=3)
    s["gemini-fenced"] = answer(GEMINI, 200, gen("```json\n" + V3), wanted=3)
    s["gemini-max-tokens"] = answer(GEMINI, 200, gen('{"variants":["cut', "MAX_TOKENS"))
    s["gemini-safety"] = answer(GEMINI, 200, gen("", "SAFETY"))
    s["gemini-prompt-blocked"] = answer(GEMINI, 200, gen("", block="PROHIBITED_CONTENT"))
    s["gemini-no-candidates"] = answer(GEMINI, 200, '{"candidates":[]}')
    s["gemini-429"] = answer(GEMINI, 429, gerr(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota.", [
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": []}, RETRY_INFO]))
    s["gemini-429-array"] = answer(GEMINI, 429, [gerr(429, "RESOURCE_EXHAUSTED", "quota", [RETRY_INFO])])
    s["gemini-503"] = answer(GEMINI, 503, gerr(503, "UNAVAILABLE", "The model is overloaded."),
                             [("Retry-After", "7")])
    s["gemini-504"] = answer(GEMINI, 504, gerr(504, "DEADLINE_EXCEEDED", "Deadline expired."))
    s["gemini-400"] = answer(GEMINI, 400, gerr(400, "INVALID_ARGUMENT", "API key not valid."))
    s["gemini-403"] = answer(GEMINI, 403, gerr(403, "PERMISSION_DENIED", "denied"))

    def build(api, schema, wanted, flags, chunks):
        return head(api, schema, wanted, 2) + bytes([flags]) + b"\n--\n".join(
            c.encode() if isinstance(c, str) else c for c in chunks)
    msgs = ["You write posts. Answer JSON.", '{"task":"write","brief":{"topic":"tea \u2615"}}',
            '{"variants":["too long"]}', "Shorter, please."]
    s["build-openai"] = build(OPENAI, True, 3, 0, ["gpt-4.1-mini"] + msgs)
    s["build-compat"] = build(OPENAI, False, 1, 2, ["llama3"] + msgs[:2])
    s["build-gemini"] = build(GEMINI, True, 3, 0, ["gemini-2.5-flash"] + msgs)
    s["build-gemini-odd-model"] = build(GEMINI, True, 1, 1, ["models/a b?c", "\xff\x00text"])
    s["build-bad-utf8"] = build(OPENAI, True, 1, 0, ["m", b"sys \xff\xfe", b"user \xc3"])
    for d in ("1s", "6m0s", "41.724s", "250ms", "31s", "1h2m3.5s", "2\u00b5s", "0", "-1s", "9" * 30 + "h"):
        name = "".join(c if c.isascii() and c.isalnum() else "_" for c in d)[:20]
        s["duration-" + name] = head(0, False, 0, 3) + d.encode()
    return s


def main(out):
    os.makedirs(out, exist_ok=True)
    s = seeds()
    for name, data in s.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print(f"{len(s)} seeds in {out}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
