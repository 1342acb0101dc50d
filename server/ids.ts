/**
 * Protects data: Bun turns every invalid byte of a URL into U+FFFD, so without this `%C3%28` and `%FF`
 * would name one object and overwrite each other. (Elysia's own router gives a null id instead.)
 */
import { Elysia } from "elysia";
import { jsonError } from "./responses";

export const validIds = new Elysia({ name: "valid-ids" }).onBeforeHandle(
  { as: "global" },
  ({ params, request }) => {
    const id = (params as { id?: string | null }).id;
    if (id === undefined || (id !== null && !id.includes("\uFFFD"))) return;
    const path = request.url.split("?")[0] ?? "";
    return jsonError(400, /%(?![0-9a-f]{2})/i.test(path) ? "id has a bad %-escape" : "id is not valid UTF-8");
  },
);
