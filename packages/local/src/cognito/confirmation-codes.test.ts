import { describe, expect, it } from "vitest";
import { confirmationCodeWatcher } from "./confirmation-codes";

function collect(lines: string[]) {
  const codes: Array<{ destination: string; code: string }> = [];
  const watch = confirmationCodeWatcher((delivery) => codes.push(delivery));
  for (const line of lines) watch(line);
  return codes;
}

describe("confirmation codes printed by the Cognito emulator", () => {
  it("reads a box printed over several lines", () => {
    const box = [
      "[12:00:00] INFO: ╭──────────────────────────────╮",
      "│   Confirmation Code Delivery   │",
      "│                                 │",
      "│   Username:    5b0c-uuid        │",
      "│   Destination: carol@example.com │",
      "│   Code:        123456           │",
      "╰──────────────────────────────╯",
    ];
    expect(collect(["unrelated line", ...box])).toEqual([{ destination: "carol@example.com", code: "123456" }]);
  });

  it("reads a box printed as one line with escaped newlines", () => {
    const line =
      '{"level":30,"msg":"╭──╮\\n│ Confirmation Code Delivery │\\n│ Username: u1 │\\n│ Destination: dave@example.com │\\n│ Code: 987654 │\\n╰──╯"}';
    expect(collect([line])).toEqual([{ destination: "dave@example.com", code: "987654" }]);
  });

  it("ignores output that is not a code delivery", () => {
    expect(collect(["Code: 1", "Destination: x@example.com", "Cognito Local running on http://127.0.0.1:1"])).toEqual(
      [],
    );
  });
});
