import { ROUTE } from "@wsauth/core/constants";
import { messageRoute } from "./lib/route";

export const handler = messageRoute(ROUTE.revoke);
