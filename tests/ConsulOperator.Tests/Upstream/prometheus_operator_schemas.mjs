// Validates Prometheus Operator objects (a JSON array in argv[3]) against the CRD schemas npm
// @kubernetes-models/prometheus-operator ships, installed under argv[2] by hack/install-tools.sh. Prints one line per
// object and exits 1 if any is invalid.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [models, file] = process.argv.slice(2);
const v1 = await import(pathToFileURL(join(models, "node_modules/@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/index.js")).href);
let invalid = 0;
for (const item of JSON.parse(readFileSync(file, "utf8"))) {
  const Kind = v1[item.kind];
  try {
    if (!Kind) throw new Error(`no schema for kind ${item.kind}`);
    new Kind(item).validate();
    console.log(`valid ${item.kind} ${item.metadata.name}`);
  } catch (error) {
    invalid++;
    console.log(`invalid ${item.kind} ${item.metadata.name}: ${error.message}`);
  }
}
process.exit(invalid ? 1 : 0);
