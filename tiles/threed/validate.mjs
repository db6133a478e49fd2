// Validate 3D Tiles contents with the Khronos glTF Validator (npm gltf-validator).
// Usage: node validate.mjs FILE...   (.glb as is; .b3dm: the embedded glb is cut out first)
// Prints one JSON object: {"files": [{"file", "numErrors", "numWarnings", "errors": [...]}]}.
// GLTF_VALIDATOR may point at the package's module.mjs; default: the copy under web/node_modules.
import { readFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";

const modulePath = process.env.GLTF_VALIDATOR
  ? pathToFileURL(process.env.GLTF_VALIDATOR).href
  : new URL("../../web/node_modules/gltf-validator/module.mjs", import.meta.url).href;
const validator = await import(modulePath);

function embeddedGlb(bytes) {
  const magic = new TextDecoder().decode(bytes.subarray(0, 4));
  if (magic !== "b3dm") return bytes;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 28;
  for (let i = 12; i <= 24; i += 4) offset += view.getUint32(i, true);
  return bytes.subarray(offset, view.getUint32(8, true));
}

const files = [];
for (const file of process.argv.slice(2)) {
  const bytes = new Uint8Array(await readFile(file));
  const report = await validator.validateBytes(embeddedGlb(bytes), {
    uri: file,
    format: "glb",
    maxIssues: 0,
    writeTimestamp: false,
  });
  const errors = report.issues.messages.filter((m) => m.severity === 0);
  files.push({
    file,
    numErrors: report.issues.numErrors,
    numWarnings: report.issues.numWarnings,
    errors: errors.slice(0, 20),
    warnings: report.issues.messages.filter((m) => m.severity === 1).slice(0, 5),
  });
}
process.stdout.write(JSON.stringify({ validator: validator.version(), files }) + "\n");
