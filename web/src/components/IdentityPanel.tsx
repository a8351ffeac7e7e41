import type { IdentityFrame } from "@wsauth/core/protocol";

/** What `whoami` answered. */
export type Identity = IdentityFrame;

function show(value: unknown): string {
  if (Array.isArray(value)) return value.length > 0 ? value.join(", ") : "none";
  if (value === undefined || value === null || value === "") return "—";
  return String(value);
}

const FIELDS: Array<[key: keyof Identity, label: string]> = [
  ["username", "Username"],
  ["userId", "User id"],
  ["groups", "Groups"],
  ["connectionId", "Connection id"],
  ["connections", "Your live connections"],
  ["transport", "Token transport"],
  ["connectedAt", "Connected at"],
  ["expiresAt", "Token expires at"],
];

export function IdentityPanel({
  identity,
  canAsk,
  onAsk,
}: {
  identity: Identity | undefined;
  canAsk: boolean;
  onAsk: () => void;
}) {
  return (
    <section className="panel" aria-labelledby="identity-title">
      <div className="panel-head">
        <h2 id="identity-title">Who am I</h2>
        <button type="button" onClick={onAsk} disabled={!canAsk}>
          Ask the server
        </button>
      </div>
      <dl className="facts" data-testid="identity">
        {FIELDS.map(([key, label]) => (
          <div key={key} className="fact">
            <dt>{label}</dt>
            <dd data-field={key}>{identity ? show(identity[key]) : "—"}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}
