// The part of aws4's API the revocation lookup uses (the package ships no types).
declare module "aws4" {
  interface SignableRequest {
    host: string;
    path: string;
    method: string;
    service: string;
    region: string;
    headers: Record<string, string>;
    body: string;
  }
  interface Credentials {
    accessKeyId: string;
    secretAccessKey: string;
    sessionToken?: string;
  }
  const aws4: { sign(request: SignableRequest, credentials: Credentials): SignableRequest };
  export default aws4;
}
