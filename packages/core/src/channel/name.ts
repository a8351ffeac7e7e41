import { z } from "zod";
import { CHANNELS } from "../constants/index";
import { InputError } from "../errors/index";

/** A valid channel name, split into its segments; the first segment is the namespace. */
export interface ChannelName {
  name: string;
  namespace: string;
  segments: readonly string[];
}

const SEGMENT = new RegExp(CHANNELS.segmentPattern);
/** Longest name: every segment at its longest, with the separators. */
export const CHANNEL_NAME_MAX_LENGTH = CHANNELS.maxSegments * 65 - 1;

/** Why `name` is not a channel name, or `undefined` when it is one. */
export function channelNameProblem(name: string): string | undefined {
  const segments = name.split("/");
  if (segments.length < CHANNELS.minSegments || segments.length > CHANNELS.maxSegments) {
    return `a channel name has ${CHANNELS.minSegments} to ${CHANNELS.maxSegments} segments separated by "/"`;
  }
  if (!segments.every((segment) => SEGMENT.test(segment))) {
    return "each segment of a channel name is 1-64 characters of A-Z, a-z, 0-9, _ and -";
  }
  return undefined;
}

/** Schema of a channel name in client frames and server-side publishes (`validation_failed` when bad). */
export const channelNameSchema = z
  .string()
  .max(CHANNEL_NAME_MAX_LENGTH)
  .superRefine((name, context) => {
    const problem = channelNameProblem(name);
    if (problem) context.addIssue({ code: "custom", message: problem });
  });

/** Parses a channel name; a bad one is an `InputError("validation_failed")`. */
export function parseChannelName(name: string): ChannelName {
  const problem = name.length > CHANNEL_NAME_MAX_LENGTH ? "channel name is too long" : channelNameProblem(name);
  if (problem) throw new InputError("validation_failed", `channel: ${problem}`);
  const segments = name.split("/");
  return { name, namespace: segments[0] ?? "", segments };
}
