/** Reading the repository's own files in tests. */
import { readFileSync } from "node:fs";
import { join } from "node:path";

export const root = join(import.meta.dir, "..", "..");
export const read = (path: string): string => readFileSync(join(root, path), "utf8");
export const readYaml = (path: string): Any => Bun.YAML.parse(read(path));

// biome-ignore lint/suspicious/noExplicitAny: parsed and rendered files are held to schemas and rules, not TS types
export type Any = any;
