/**
 * cognito-local "delivers" sign-up and verification codes by printing them in a box on its console.
 * The stack hides cognito-local's routine output, so this picks the code and its destination out of
 * that box and hands them on as one line: without it, signing up in the local site could not be
 * confirmed. The box arrives either over several lines or as one line with escaped newlines.
 */
const HEADER = "Confirmation Code Delivery";
const DESTINATION = /Destination:\s*([^\s│|\\]+)/;
const CODE = /Code:\s*([0-9A-Za-z]+)/;
/** How many lines after the header may still belong to the box. */
const BOX_LINES = 12;

export function confirmationCodeWatcher(
  onCode: (delivery: { destination: string; code: string }) => void,
): (line: string) => void {
  let pending: { destination?: string; code?: string; linesLeft: number } | undefined;
  return (line) => {
    if (line.includes(HEADER)) pending = { linesLeft: BOX_LINES };
    if (!pending) return;
    pending.destination ??= line.match(DESTINATION)?.[1];
    pending.code ??= line.match(CODE)?.[1];
    if (pending.destination && pending.code) {
      onCode({ destination: pending.destination, code: pending.code });
      pending = undefined;
      return;
    }
    pending.linesLeft -= 1;
    if (pending.linesLeft <= 0) pending = undefined;
  };
}
