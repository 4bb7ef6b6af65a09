import { test } from "node:test";
import assert from "node:assert/strict";
import { entryPointScript, noarchPythonPath, parseEntryPoint, pythonExecutable, pythonMajorMinor, pythonShebang, sitePackagesDir } from "../../../src/builder/install/noarch-python.ts";
import { InputError } from "../../../src/errors.ts";

test("site-packages and python-scripts are mapped per platform; other paths unchanged", () => {
  assert.equal(noarchPythonPath("site-packages/requests/__init__.py", "3.11", "linux-64"), "lib/python3.11/site-packages/requests/__init__.py");
  assert.equal(noarchPythonPath("site-packages/requests/__init__.py", "3.12.4", "osx-arm64"), "lib/python3.12/site-packages/requests/__init__.py");
  assert.equal(noarchPythonPath("site-packages/requests/__init__.py", "3.11", "win-64"), "Lib/site-packages/requests/__init__.py");
  assert.equal(noarchPythonPath("python-scripts/tool", "3.11", "linux-64"), "bin/tool");
  assert.equal(noarchPythonPath("python-scripts/tool", "3.11", "win-64"), "Scripts/tool");
  assert.equal(noarchPythonPath("share/doc/x", "3.11", "linux-64"), "share/doc/x");
  assert.equal(noarchPythonPath("site-packagesX/a", "3.11", "linux-64"), "site-packagesX/a");
  assert.equal(sitePackagesDir("3.13t", "linux-64"), "lib/python3.13t/site-packages");
  assert.equal(pythonExecutable("3.10.13", "linux-64"), "bin/python3.10");
  assert.equal(pythonExecutable("3.10", "win-64"), "python.exe");
  assert.throws(() => pythonMajorMinor("three"), InputError);
});

test("entry point script: the content conda writes", () => {
  const ep = entryPointScript("requests-cli = requests.cli:main", "/envs/web/bin/python3.11");
  assert.equal(ep.path, "bin/requests-cli");
  assert.equal(ep.mode, 0o755);
  assert.equal(
    ep.content,
    [
      "#!/envs/web/bin/python3.11",
      "# -*- coding: utf-8 -*-",
      "import re",
      "import sys",
      "",
      "from requests.cli import main",
      "",
      "if __name__ == '__main__':",
      "    sys.argv[0] = re.sub(r'(-script\\.pyw?|\\.exe)?$', '', sys.argv[0])",
      "    sys.exit(main())",
      "",
    ].join("\n"),
  );
  // dotted functions import their first part
  assert.match(entryPointScript("x=pkg.mod:App.run", "/e/bin/python3.12").content, /from pkg\.mod import App\n[\s\S]*sys\.exit\(App\.run\(\)\)/);
});

test("entry point shebang: too long or with spaces gets conda's /bin/sh + '''exec' form", () => {
  assert.equal(pythonShebang("/e/bin/python3.11"), "#!/e/bin/python3.11\n");
  const long = `/${"x".repeat(120)}/bin/python3.11`;
  assert.equal(pythonShebang(long), `#!/bin/sh\n'''exec' "${long}" "$0" "$@" #'''\n`);
  assert.equal(pythonShebang("/my envs/bin/python3.11"), `#!/bin/sh\n'''exec' "/my envs/bin/python3.11" "$0" "$@" #'''\n`);
});

test("entry point definitions are validated like conda's parse_entry_point_def", () => {
  assert.deepEqual(parseEntryPoint(" jupyter-lab = jupyterlab.labapp:main "), { command: "jupyter-lab", module: "jupyterlab.labapp", func: "main" });
  for (const bad of ["no-equals", "x = mod", "../evil = m:f", "a/b = m:f", ".hidden = m:f", "x = 1mod:f", "x = mod:class", "x = mod:f(); import os", " = m:f"]) {
    assert.throws(() => parseEntryPoint(bad), (e: unknown) => e instanceof InputError && e.code === "package.entry-point", bad);
  }
});
