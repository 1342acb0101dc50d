// Type-level helpers that let tsc check a dashboard JSON file against the types Grafana publishes in
// @grafana/schema. Two gaps of a plain `const d: Dashboard = json` are closed here:
// - JSON imports widen every string to `string`, and `string` is not assignable to Grafana's string
//   enums (ThresholdsMode, FieldColorModeId, ...), so valid files would not compile: JsonShape widens
//   those enums to `string` (the dashboard test checks their values at run time instead);
// - TypeScript does no excess-property check on an imported JSON value, so a misspelled key (which
//   Grafana silently ignores) would compile: KnownKeysOnly turns every key the schema lacks into `never`.

/** True for `any` only (`any` is the one type that 1 & T collapses to). */
type IsAny<T> = 0 extends 1 & T ? true : false;

/** T with string enums and literal unions widened to their primitive, recursively. */
export type JsonShape<T> =
  IsAny<T> extends true
    ? T
    : T extends string
      ? string
      : T extends number
        ? number
        : T extends boolean
          ? boolean
          : T extends readonly (infer Element)[]
            ? JsonShape<Element>[]
            : T extends object
              ? { [Key in keyof T]: JsonShape<T[Key]> }
              : T;

/**
 * Actual, with every key that Schema does not declare typed as `never`, recursively. Unions in Schema
 * (Panel | RowPanel) are distributed, so a value may match any one member. Where Schema is open
 * (`unknown`, `any`, or an index signature such as panel `options`), every key is accepted.
 */
export type KnownKeysOnly<Actual, Schema> = Schema extends unknown ? KnownKeysFor<Actual, Schema> : never;

type KnownKeysFor<Actual, Schema> =
  IsAny<Schema> extends true
    ? Actual
    : unknown extends Schema
      ? Actual
      : Actual extends readonly (infer Element)[]
        ? Schema extends readonly (infer SchemaElement)[]
          ? KnownKeysOnly<Element, SchemaElement>[]
          : Actual
        : Actual extends object
          ? {
              [Key in keyof Actual]: Key extends keyof Schema
                ? KnownKeysOnly<Actual[Key], Exclude<Schema[Key], null | undefined>>
                : never;
            }
          : Actual;
