import { test } from "node:test";
import assert from "node:assert/strict";
import { normalizePipName, parsePipEntry } from "../../src/spec/pip-requirement.ts";
import type { PipEntry } from "../../src/spec/pip-requirement.ts";

function accept(text: string): PipEntry {
  const r = parsePipEntry(text);
  assert.ok(r.ok, `${text}: ${r.ok ? "" : r.reason}`);
  return r.entry;
}

function reason(text: string): string {
  const r = parsePipEntry(text);
  assert.ok(!r.ok, `${text} should be rejected`);
  return r.reason;
}

test("names are PEP 503-normalised", () => {
  assert.equal(normalizePipName("Requests_OAuthlib"), "requests-oauthlib");
  assert.equal(normalizePipName("zope.interface"), "zope-interface");
  assert.equal(normalizePipName("a-_.b"), "a-b");
});

test("a bare name", () => {
  assert.deepEqual(accept("  requests "), { kind: "requirement", name: "requests", extras: [], specifier: "", text: "requests" });
});

test("extras are sorted and normalised, specifiers lose their whitespace", () => {
  assert.deepEqual(accept("Requests_OAuthlib[Socks, security]>=1.3,<2"), {
    kind: "requirement",
    name: "requests-oauthlib",
    extras: ["security", "socks"],
    specifier: ">=1.3,<2",
    text: "requests-oauthlib[security,socks]>=1.3,<2",
  });
  assert.equal(accept("numpy >= 1.2 , < 2").text, "numpy>=1.2,<2");
  assert.deepEqual(accept("numpy[]"), { kind: "requirement", name: "numpy", extras: [], specifier: "", text: "numpy" });
  assert.equal(accept("numpy===foo").text, "numpy===foo");
  assert.equal(accept("numpy!=1.2.*,~=1.1").text, "numpy!=1.2.*,~=1.1");
});

test("a parenthesised specifier", () => {
  assert.deepEqual(accept("numpy (>=1.2)"), { kind: "requirement", name: "numpy", extras: [], specifier: ">=1.2", text: "numpy>=1.2" });
});

test("name @ URL with a marker", () => {
  assert.deepEqual(accept('pkg @ https://example.org/pkg-1.0.tar.gz ; python_version >= "3.8"'), {
    kind: "requirement",
    name: "pkg",
    extras: [],
    specifier: "",
    url: "https://example.org/pkg-1.0.tar.gz",
    marker: 'python_version >= "3.8"',
    text: 'pkg @ https://example.org/pkg-1.0.tar.gz ; python_version >= "3.8"',
  });
  assert.equal(accept("Pkg[X]@git+https://github.com/o/pkg.git@v1.0").text, "pkg[x] @ git+https://github.com/o/pkg.git@v1.0");
  assert.equal(accept("pkg @ file:///srv/wheels/pkg-1.0-py3-none-any.whl").text, "pkg @ file:///srv/wheels/pkg-1.0-py3-none-any.whl");
});

test("a wildcard with a compound marker", () => {
  const marker = `sys_platform == "linux" and (python_version < "3.12" or extra == "x")`;
  assert.deepEqual(accept(`foo==1.2.* ; ${marker}`), {
    kind: "requirement",
    name: "foo",
    extras: [],
    specifier: "==1.2.*",
    marker,
    text: `foo==1.2.* ; ${marker}`,
  });
  const other = accept(`bar;os_name=='nt' or platform_machine not in 'x86_64 aarch64'`);
  assert.equal(other.text, `bar ; os_name=='nt' or platform_machine not in 'x86_64 aarch64'`);
});

test("supported options, with a space or =", () => {
  assert.deepEqual(accept("--index-url https://pypi.example.org/simple"), {
    kind: "option",
    option: "--index-url",
    value: "https://pypi.example.org/simple",
    text: "--index-url https://pypi.example.org/simple",
  });
  assert.deepEqual(accept("--extra-index-url=https://pypi.example.org/simple"), {
    kind: "option",
    option: "--extra-index-url",
    value: "https://pypi.example.org/simple",
    text: "--extra-index-url https://pypi.example.org/simple",
  });
  assert.deepEqual(accept("--trusted-host   pypi.internal:8443"), {
    kind: "option",
    option: "--trusted-host",
    value: "pypi.internal:8443",
    text: "--trusted-host pypi.internal:8443",
  });
  assert.equal(accept("--trusted-host=pypi.internal").text, "--trusted-host pypi.internal");
});

test("URLs with credentials are refused without repeating the secret", () => {
  for (const [text, shown] of [
    ["--index-url https://alice:s3cr3t-pw@pypi.example.org/simple", "https://***@pypi.example.org/simple"],
    ["--extra-index-url=https://ghp_s3cr3tT0ken@pypi.example.org/simple", "https://***@pypi.example.org/simple"],
    ["pkg @ git+https://ghp_s3cr3tT0ken@github.com/o/pkg.git", "git+https://***@github.com/o/pkg.git"],
    ["git+https://alice:s3cr3t@github.com/o/pkg.git", "git+https://***@github.com/o/pkg.git"],
    ["--trusted-host alice:s3cr3t@pypi.internal", "***@pypi.internal"],
  ] as const) {
    const r = reason(text);
    assert.match(r, /credentials do not belong in a spec committed to git/);
    assert.match(r, /condaops' configuration/);
    assert.ok(r.includes(shown), r);
    assert.ok(!/s3cr3t|alice/.test(r), `secret leaked: ${r}`);
  }
});

test("every other form is rejected with a one-line reason", () => {
  const cases: [string, string | RegExp][] = [
    ["", "empty pip entry"],
    ["   ", "empty pip entry"],
    ["-e .", /^editable installs .* cannot be built reproducibly/],
    ["--editable git+https://github.com/o/p.git#egg=p", /^editable installs/],
    ["-r requirements.txt", /^requirement files outside the spec \(-r\) are not supported; list the packages/],
    ["-c constraints.txt", /^requirement files outside the spec \(-c\)/],
    ["--requirement=requirements.txt", /^requirement files outside the spec/],
    ["--find-links https://example.org/wheels", 'unsupported pip option "--find-links"; supported: --index-url, --extra-index-url, --trusted-host'],
    ["--pre", /^unsupported pip option "--pre"; supported: /],
    ["-i https://pypi.example.org/simple", /"-i" \(write --index-url\)/],
    ["--index-url", "--index-url needs a URL"],
    ["--trusted-host", "--trusted-host needs a host"],
    ["--index-url https://a.example https://b.example", "--index-url takes one value"],
    ["--index-url file:///srv/simple", /^unsupported URL "file:\/\/\/srv\/simple"; use https:\/\/, http:\/\//],
    ["--trusted-host https://pypi.internal", /^--trusted-host takes a host name/],
    ["./pkg", /^"\.\/pkg" is a path, not a requirement; write it as "name @ file:/],
    ["/srv/pkg", /is a path/],
    ["pkg-1.0-py3-none-any.whl", /is a path/],
    ["git+https://github.com/o/pkg.git", 'has no package name; write it as "name @ git+https://github.com/o/pkg.git"'],
    ["_numpy", /^invalid package name "_numpy"/],
    ["numpy_", /^invalid package name "numpy_"/],
    ["num$py", /^invalid package name "num\$py"/],
    [">=1.0", "missing package name"],
    ["numpy>>=1", 'bad version specifier ">>=1"'],
    ["numpy==1.2.3.*.4", 'bad version specifier "==1.2.3.*.4"'],
    ["numpy~=1", /^bad version specifier "~=1" \(~= needs at least two release segments/],
    ["numpy>=1.2.*", /^bad version specifier ">=1\.2\.\*" \(\.\* is allowed only with == and !=\)/],
    ["numpy>=1.0,", 'bad version specifier ""'],
    ["numpy 1.0", /^expected a version specifier, "@ URL" or "; marker" after "numpy"/],
    ["numpy==1.0 --hash=sha256:abc", 'per-requirement options ("--hash") are not supported'],
    ["numpy[security", "unbalanced brackets"],
    ["numpy]", "unbalanced brackets"],
    ["numpy[a,,b]", 'invalid extra ""'],
    ["numpy (>=1.2", "unbalanced parentheses"],
    ["numpy >=1.2)", "unbalanced parentheses"],
    ["pkg>=1 @ https://example.org/pkg.tar.gz", /not both/],
    ["pkg @", 'missing URL after "@"'],
    ["pkg @ ftp://example.org/pkg.tar.gz", /^unsupported URL "ftp:/],
    ["pkg @ https://example.org/pkg.tar.gz;python_version>'3'", 'put a space between the URL and ";"'],
    ['numpy ; python_version >> "3"', 'invalid marker: unknown operator ">>"'],
    ['numpy ; python_versoin == "3.8"', 'invalid marker: unknown variable "python_versoin"'],
    ['numpy ; (python_version > "3"', "invalid marker: unbalanced parentheses"],
    ['numpy ; python_version > "3")', "invalid marker: unbalanced parentheses"],
    ['numpy ; python_version > "3', "invalid marker: unterminated string"],
    ["numpy ; python_version", "invalid marker: expected a comparison operator, got end of marker"],
    ['numpy ; python_version > "3" and', "invalid marker: expected a variable or quoted string, got end of marker"],
    ['numpy ; python_version > "3" "x"', 'invalid marker: unexpected "x"'],
    ["numpy ;", 'empty marker after ";"'],
  ];
  for (const [text, expected] of cases) {
    const r = reason(text);
    assert.ok(!r.includes("\n"), `one line: ${r}`);
    if (typeof expected === "string") assert.ok(r.includes(expected), `${JSON.stringify(text)}: got ${JSON.stringify(r)}`);
    else assert.match(r, expected, JSON.stringify(text));
  }
});
