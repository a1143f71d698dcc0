#!/usr/bin/env node
// Validate glTF files with the Khronos glTF validator and print, per file, one line of JSON:
//   {"file": ..., "errors": N, "warnings": N, "infos": N, "messages": [the errors and warnings]}
// Usage: node validate.js FILE.glb|FILE.gltf|FILE.vrm ...   Exit status 1 when any file has an error.
"use strict";
const fs = require("fs");
const path = require("path");
const validator = require("gltf-validator");

async function validate(file) {
  const bytes = new Uint8Array(fs.readFileSync(file));
  const report = await validator.validateBytes(bytes, {
    uri: path.basename(file),
    maxIssues: 0, // all of them
    // .gltf files may reference buffers and images next to them
    externalResourceFunction: (uri) =>
      new Promise((resolve, reject) => {
        fs.readFile(path.resolve(path.dirname(file), decodeURIComponent(uri)), (err, data) =>
          err ? reject(err.toString()) : resolve(new Uint8Array(data)));
      }),
  });
  const issues = report.issues;
  return {
    file,
    errors: issues.numErrors,
    warnings: issues.numWarnings,
    infos: issues.numInfos,
    messages: issues.messages
      .filter((m) => m.severity <= 1)
      .map((m) => `${m.severity === 0 ? "error" : "warning"} ${m.code} ${m.pointer || ""}: ${m.message}`),
  };
}

(async () => {
  let failed = false;
  for (const file of process.argv.slice(2)) {
    let result;
    try {
      result = await validate(file);
    } catch (e) {
      result = { file, errors: 1, warnings: 0, infos: 0, messages: [`error ${String(e)}`] };
    }
    failed = failed || result.errors > 0;
    console.log(JSON.stringify(result));
  }
  process.exit(failed ? 1 : 0);
})();
