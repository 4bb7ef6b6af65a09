import { test } from "node:test";
import assert from "node:assert/strict";
import { checkObjectKey, checkObjectPrefix } from "../../src/blobs/object-key.ts";
import { InputError } from "../../src/errors.ts";

const refused = (fn: () => unknown, reason: RegExp): void => {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InputError, String(e));
    assert.equal(e.code, "storage.key");
    assert.match(e.message, reason);
    return true;
  });
};

test("valid keys give their segments", () => {
  assert.deepEqual(checkObjectKey("builds/ds/py/abc123/log/build.log"), ["builds", "ds", "py", "abc123", "log", "build.log"]);
  assert.deepEqual(checkObjectKey("a"), ["a"]);
  assert.deepEqual(checkObjectKey("a/.hidden/x..y/é"), ["a", ".hidden", "x..y", "é"]);
  assert.deepEqual(checkObjectKey("x".repeat(255)), ["x".repeat(255)]);
});

test("hostile and malformed keys are refused with the reason", () => {
  refused(() => checkObjectKey(""), /is empty/);
  refused(() => checkObjectKey("/etc/passwd"), /absolute/);
  refused(() => checkObjectKey("../x"), /"\.\." segment/);
  refused(() => checkObjectKey("a/../../x"), /"\.\." segment/);
  refused(() => checkObjectKey(".."), /"\.\." segment/);
  refused(() => checkObjectKey("a/./b"), /"\." segment/);
  refused(() => checkObjectKey("a//b"), /empty segment/);
  refused(() => checkObjectKey("a/b/"), /ends with \//);
  refused(() => checkObjectKey("a\\b"), /backslash/);
  refused(() => checkObjectKey("..\\x"), /backslash/);
  refused(() => checkObjectKey("a\0b"), /control character U\+0000/);
  refused(() => checkObjectKey("a\nb"), /control character U\+000A/);
  refused(() => checkObjectKey("a\u007fb"), /control character U\+007F/);
  refused(() => checkObjectKey("a\ud800b"), /surrogate/);
  refused(() => checkObjectKey("x".repeat(256)), /longer than 255 bytes/);
  refused(() => checkObjectKey(Array.from({ length: 300 }, () => "abcd").join("/")), /longer than 1024 bytes/);
  refused(() => checkObjectKey(`${"é/".repeat(341)}ab`), /longer than 1024 bytes/); // 1024 chars... of 2-byte é
});

test("the message shows the key escaped, the hint shows the expected shape", () => {
  try {
    checkObjectKey("a\0b");
    assert.fail("accepted");
  } catch (e) {
    assert.ok(e instanceof InputError);
    assert.match(e.message, /"a\\u0000b"/);
    assert.match(e.hint ?? "", /relative paths/);
  }
});

test("prefixes may be empty or end with /, otherwise follow the key rules", () => {
  checkObjectPrefix("");
  checkObjectPrefix("builds/");
  checkObjectPrefix("builds/ds/na");
  refused(() => checkObjectPrefix("/builds"), /absolute/);
  refused(() => checkObjectPrefix("../"), /"\.\." segment/);
  refused(() => checkObjectPrefix("a//"), /empty segment/);
  refused(() => checkObjectPrefix("a\\"), /backslash/);
});
