// What the graph may not carry to disk or a terminal: secrets, and the copy of the deploying shell's
// environment that SST passes to site builds (`command:local:Command` gets all of `process.env`).

/** Names of variables whose values are secrets wherever they show up. */
const SECRET_NAME = /(SECRET|PASSWORD|PASSPHRASE|TOKEN|CREDENTIAL|PRIVATE|(^|_)KEY$)/i;
/** Fields SST fills with secrets (the function encryption key) or that name one. */
const SECRET_FIELD = /^(SST_KEY|secret|password|privateKey)$|[a-z](Secret|Password)$/;
export const REDACTED = "[redacted]";

/** Secret values present in `env`: long enough that replacing them cannot hit an ordinary word. */
export function secretValues(env) {
  return Object.entries(env)
    .filter(([name, value]) => SECRET_NAME.test(name) && typeof value === "string" && value.length >= 8)
    .map(([, value]) => value);
}

/**
 * A deep copy of `value` with secrets replaced by "[redacted]" and, in environment maps that copy the
 * shell (every entry of `shellEnv` with its value), the shell's entries removed.
 */
export function redact(value, shellEnv) {
  const secrets = secretValues(shellEnv);
  const visit = (node, key) => {
    if (typeof node === "string") {
      if (key !== undefined && SECRET_FIELD.test(key) && node !== "") return REDACTED;
      return secrets.reduce((text, secret) => (text.includes(secret) ? text.replaceAll(secret, REDACTED) : text), node);
    }
    if (Array.isArray(node)) return node.map((item) => visit(item));
    if (node && typeof node === "object") {
      const entries = Object.entries(node);
      const copiesShell = isShellCopy(entries, shellEnv);
      return Object.fromEntries(
        entries
          .filter(([name, item]) => !(copiesShell && shellEnv[name] === item))
          .map(([name, item]) => [name, visit(item, name)]),
      );
    }
    return node;
  };
  return visit(value);
}

/** An object is a copy of the shell's environment when it holds PATH and HOME with the shell's values. */
function isShellCopy(entries, shellEnv) {
  const map = new Map(entries);
  return ["PATH", "HOME"].every((name) => shellEnv[name] !== undefined && map.get(name) === shellEnv[name]);
}
