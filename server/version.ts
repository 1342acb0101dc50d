/** The service version, from package.json (the single place it is written). */
import pkg from "../package.json" with { type: "json" };

export const VERSION: string = pkg.version;
