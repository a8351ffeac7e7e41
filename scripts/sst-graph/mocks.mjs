// Pulumi unit-test mocks (`pulumi.runtime.setMocks`) that stand in for AWS while the graph is evaluated:
// every resource "creates" instantly with its inputs as its state plus the computed outputs SST's
// components read back, and the provider functions the app calls answer with fixed test values.
import { createHash } from "node:crypto";

export const MOCK_ACCOUNT = "123456789012";
export const MOCK_PARTITION = "aws";

/** A short stable hex id for a resource name (mock physical ids must be stable across runs). */
const shortId = (text) => createHash("sha256").update(text).digest("hex").slice(0, 10);

/** `aws:dynamodb/table:Table` -> `dynamodb`. */
const serviceOf = (type) => type.split(":")[1]?.split("/")[0] ?? "unknown";

/** The mocked state of one resource: its inputs plus the outputs AWS would compute. */
function computedState({ type, name, inputs }, region) {
  const id = inputs.name ?? `${name}-${shortId(`${type}::${name}`)}`;
  const service = serviceOf(type);
  const state = { ...inputs, arn: `arn:${MOCK_PARTITION}:${service}:${region}:${MOCK_ACCOUNT}:${name}` };
  switch (type) {
    case "aws:dynamodb/table:Table":
      state.arn = `arn:${MOCK_PARTITION}:dynamodb:${region}:${MOCK_ACCOUNT}:table/${id}`;
      state.streamArn = `${state.arn}/stream/mock`;
      break;
    case "aws:lambda/function:Function":
      state.arn = `arn:${MOCK_PARTITION}:lambda:${region}:${MOCK_ACCOUNT}:function:${id}`;
      state.invokeArn = `arn:${MOCK_PARTITION}:apigateway:${region}:lambda:path/2015-03-31/functions/${state.arn}/invocations`;
      state.qualifiedArn = `${state.arn}:$LATEST`;
      break;
    case "aws:lambda/functionUrl:FunctionUrl":
      state.functionUrl = `https://${shortId(name)}.lambda-url.${region}.on.aws/`;
      break;
    case "aws:iam/role:Role":
      state.arn = `arn:${MOCK_PARTITION}:iam::${MOCK_ACCOUNT}:role/${id}`;
      break;
    case "aws:apigatewayv2/api:Api": {
      const apiId = shortId(name);
      state.apiEndpoint = `wss://${apiId}.execute-api.${region}.amazonaws.com`;
      state.executionArn = `arn:${MOCK_PARTITION}:execute-api:${region}:${MOCK_ACCOUNT}:${apiId}`;
      state.arn = `arn:${MOCK_PARTITION}:apigateway:${region}::/apis/${apiId}`;
      return { id: apiId, state };
    }
    case "aws:apigatewayv2/stage:Stage":
      state.invokeUrl = `wss://mock.execute-api.${region}.amazonaws.com/${inputs.name ?? name}`;
      state.executionArn = `arn:${MOCK_PARTITION}:execute-api:${region}:${MOCK_ACCOUNT}:mock/${inputs.name ?? name}`;
      break;
    case "aws:cognito/userPool:UserPool": {
      const poolId = `${region}_${shortId(name)}`;
      state.arn = `arn:${MOCK_PARTITION}:cognito-idp:${region}:${MOCK_ACCOUNT}:userpool/${poolId}`;
      state.endpoint = `cognito-idp.${region}.amazonaws.com/${poolId}`;
      return { id: poolId, state };
    }
    case "aws:cloudwatch/eventRule:EventRule":
      // Auto-named like the provider does (name + suffix); rules live in EventBridge's `events` ARNs.
      state.name = id;
      state.arn = `arn:${MOCK_PARTITION}:events:${region}:${MOCK_ACCOUNT}:rule/${id}`;
      break;
    case "random:index/randomBytes:RandomBytes":
      state.base64 = Buffer.alloc(inputs.length ?? 32, 7).toString("base64");
      state.hex = Buffer.alloc(inputs.length ?? 32, 7).toString("hex");
      break;
    case "random:index/randomString:RandomString":
      state.result = "mockrandomstring".slice(0, inputs.length ?? 16);
      break;
    case "aws:cloudfront/distribution:Distribution":
      state.domainName = `${shortId(name)}.cloudfront.net`;
      state.hostedZoneId = "Z2FDTNDATAQYW2";
      break;
  }
  return { id, state };
}

/**
 * The mocks. `onResource` sees every resource as the program registered it; `onCall` every provider
 * function call. Unknown provider functions fail the evaluation with their token, so a new call is
 * noticed instead of silently answered with nothing.
 */
export function createMocks({ region, onResource }) {
  return {
    newResource(args) {
      const result = computedState(args, region);
      onResource({ type: args.type, name: args.name, inputs: args.inputs, id: result.id, state: result.state });
      return result;
    },
    call({ token, inputs }) {
      switch (token) {
        case "aws:index/getRegion:getRegion":
          return { id: region, name: region, region, description: region, endpoint: `ec2.${region}.amazonaws.com` };
        case "aws:index/getPartition:getPartition":
          return {
            id: MOCK_PARTITION,
            partition: MOCK_PARTITION,
            dnsSuffix: "amazonaws.com",
            reverseDnsPrefix: "com.amazonaws",
          };
        case "aws:index/getCallerIdentity:getCallerIdentity":
          return {
            id: MOCK_ACCOUNT,
            accountId: MOCK_ACCOUNT,
            arn: `arn:${MOCK_PARTITION}:iam::${MOCK_ACCOUNT}:user/graph`,
            userId: "AIDAGRAPH",
          };
        case "aws:iam/getPolicyDocument:getPolicyDocument":
          return policyDocument(inputs);
        default:
          throw new Error(`the graph evaluation has no mock for the provider function ${token}`);
      }
    },
  };
}

/**
 * `aws.iam.getPolicyDocument`: the JSON document of the statements, and the statements themselves
 * (SST attaches a role's inline policy only when `statements` is non-empty, as AWS returns it).
 */
function policyDocument(inputs) {
  const statements = inputs.statements ?? [];
  const json = JSON.stringify({
    Version: "2012-10-17",
    Statement: statements.map((statement) => ({
      ...(statement.sid ? { Sid: statement.sid } : {}),
      Effect: statement.effect ?? "Allow",
      ...(statement.actions ? { Action: statement.actions } : {}),
      ...(statement.resources ? { Resource: statement.resources } : {}),
      ...(statement.principals
        ? {
            Principal: Object.fromEntries(statement.principals.map((p) => [p.type, p.identifiers])),
          }
        : {}),
      ...(statement.conditions ? { Condition: statement.conditions } : {}),
    })),
  });
  return { id: "policy", json, minifiedJson: json, statements: statements.length > 0 ? statements : undefined };
}
