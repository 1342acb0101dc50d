// Lets tsc check a dashboard JSON against @grafana/schema, closing two gaps of `const d: Dashboard = json`:
// JSON imports widen strings, which Grafana's string enums reject (JsonShape widens the enums back; the test
// checks their values), and imported JSON gets no excess-property check (KnownKeysOnly makes unknown keys never).

/** True for `any` only (the one type 1 & T collapses to). */
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

/** Actual with every key Schema lacks typed `never`, recursively; unions distribute, open types accept all. */
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
