/** Reading the repository's own files in tests, and narrowing parsed YAML/JSON with clear failures. */
import { readFileSync } from "node:fs";
import { join } from "node:path";

export const root = join(import.meta.dir, "..", "..");
export const read = (path: string): string => readFileSync(join(root, path), "utf8");

export type Mapping = Record<string, unknown>;
export function mapping(value: unknown, what: string): Mapping {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new Error(`${what} is not a mapping`);
  return value as Mapping;
}
export function list(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`${what} is not a list`);
  return value;
}
export function text(value: unknown, what: string): string {
  if (typeof value !== "string") throw new Error(`${what} is not a string`);
  return value;
}
