export * from "./context";
