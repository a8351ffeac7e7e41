export * from "./authorize";
export * from "./config";
export * from "./container";
export * from "./context";
export * from "./extract";
export * from "./fixtures";
export * from "./reasons";
export * from "./verifier";
