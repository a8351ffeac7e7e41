import { formatResults } from "./lib/result";
import { runScaleBench } from "./scale.bench";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
const sizes = (process.env.SIZES ?? "600,1200").split(",").map(Number);
const t = Date.now();
console.log(formatResults(await runScaleBench({ sizes })));
console.log("took", Date.now() - t, "ms");
