import { z } from "zod";
import { REVOCATION } from "../constants/index";
import { InputError } from "../errors/index";
import { describeIssue } from "../protocol/index";
import type { RevokeTarget } from "./revoke";

/**
 * The EventBridge event of a Cognito admin action, as CloudTrail delivers it ("AWS API Call via
 * CloudTrail", source `aws.cognito-idp`). Cognito hides private request fields in CloudTrail
 * (`HIDDEN_FOR_SECURITY_REASONS`), and the user name of these calls is one of them, so the user is
 * taken from `additionalEventData.sub` when Cognito records it, else from `requestParameters.username`
 * when that is logged in the clear (the sign-in name or the `sub`; `Revoke` resolves a name to the sub).
 * Only the fields read are declared; everything else in the event is ignored and never logged.
 */
export const COGNITO_CLOUDTRAIL = REVOCATION.cloudTrail;

const HIDDEN = /^HIDDEN_(DUE_TO|FOR)_SECURITY_REASONS$/;
const field = z.string().trim().min(1).max(256);

export const cognitoAdminEventSchema = z.object({
  "detail-type": z.literal(COGNITO_CLOUDTRAIL.detailType),
  source: z.literal(COGNITO_CLOUDTRAIL.source),
  detail: z.object({
    eventSource: z.literal(COGNITO_CLOUDTRAIL.eventSource),
    eventName: z.enum(REVOCATION.cognitoAdminEvents),
    /** Set when the admin call itself failed: then nothing changed and nothing is revoked. */
    errorCode: z.string().optional(),
    requestParameters: z.object({ userPoolId: field.optional(), username: field.optional() }).nullish(),
    additionalEventData: z.object({ sub: field.optional() }).nullish(),
  }),
});
export type CognitoAdminEvent = z.infer<typeof cognitoAdminEventSchema>;

/** Whether an input looks like an EventBridge event (then it must be a Cognito admin event). */
export function isEventBridgeEvent(input: unknown): boolean {
  return typeof input === "object" && input !== null && Object.hasOwn(input, "detail-type");
}

/**
 * Who a Cognito admin event is about: `{userId}` from the recorded `sub`, `{username}` from a clear
 * user name, `undefined` when the event names no one usable (the call failed, or the name is hidden).
 */
export function targetOfAdminEvent(event: CognitoAdminEvent): RevokeTarget | undefined {
  const { detail } = event;
  if (detail.errorCode) return undefined;
  const sub = detail.additionalEventData?.sub;
  if (sub && !HIDDEN.test(sub)) return { userId: sub };
  const username = detail.requestParameters?.username;
  if (username && !HIDDEN.test(username)) return { username };
  return undefined;
}

/** A Cognito admin action's EventBridge event, validated: its name and the user it is about. */
export function parseCognitoAdminEvent(input: unknown): { eventName: string; target: RevokeTarget | undefined } {
  const parsed = cognitoAdminEventSchema.safeParse(input);
  if (!parsed.success) throw new InputError("validation_failed", describeIssue(parsed.error, "event"));
  return { eventName: parsed.data.detail.eventName, target: targetOfAdminEvent(parsed.data) };
}
