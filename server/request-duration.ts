/**
 * The request-duration histogram, built for the hot path.
 *
 * prom-client's own `histogram.labels(...).observe(v)` costs about 0.7 µs per call on this machine (it
 * rebuilds a label-hash string and looks buckets up by stringified bound on every call), which alone is
 * most of the 1 µs per request the metrics may cost (docs/performance.md). So observations go into a
 * pre-resolved cell per (method, path, status): a Float64Array of bucket counts plus sum and count, found
 * through small Map lookups with no allocation (two per request when the caller keeps the RouteSeries).
 * The class still IS a prom-client Histogram, registered in the app's Registry; only `get()` is
 * overridden to hand the registry the cells' values in prom-client's own exposition format, so /metrics
 * output is rendered by prom-client as usual.
 */
import { Histogram, type Registry } from "prom-client";

export type DurationLabel = "method" | "path" | "status";

/** Methods that get their own label value; anything else is recorded as OTHER, so clients cannot add series. */
const KNOWN_METHODS: ReadonlySet<string> = new Set([
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "PATCH",
  "OPTIONS",
  "CONNECT",
  "TRACE",
]);
const OTHER_METHOD = "OTHER";

interface Cell {
  readonly method: string;
  readonly path: string;
  readonly status: string;
  /** Non-cumulative counts per bucket; the last slot is the +Inf overflow. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/** The cells of one method label on one route, by status code. */
interface MethodCells {
  readonly label: string;
  readonly byStatus: Map<number, Cell>;
}

interface ExportedValue {
  value: number;
  labels: Partial<Record<DurationLabel | "le", string | number>>;
  metricName: string;
}

type Exported = Awaited<ReturnType<Histogram<DurationLabel>["get"]>>;

/**
 * The series of one `path` label value. The metrics plugin resolves it once per route template and keeps
 * it, so recording a request costs two Map lookups (method, then status) and no allocation.
 */
export class RouteSeries {
  readonly #byMethod = new Map<string, MethodCells>();

  constructor(
    readonly path: string,
    private readonly bounds: Float64Array,
    private readonly ordered: Cell[],
  ) {}

  /** Records one request; `seconds` must be finite and non-negative. */
  record(method: string, status: number, seconds: number): void {
    const cell = this.#cell(method, status);
    const bounds = this.bounds;
    let i = 0;
    // Linear from the smallest bound: nearly every request here lands in the first few buckets.
    while (i < bounds.length && seconds > (bounds[i] as number)) i++;
    (cell.counts[i] as number)++;
    cell.sum += seconds;
    cell.count++;
  }

  /** Creates the series at zero, so rate() has a first sample before the first request. */
  precreate(method: string, status: number): void {
    this.#cell(method, status);
  }

  #cell(method: string, status: number): Cell {
    const cells = this.#byMethod.get(method) ?? this.#methodCells(method);
    let cell = cells.byStatus.get(status);
    if (cell === undefined) {
      cell = {
        method: cells.label,
        path: this.path,
        status: String(status),
        counts: new Float64Array(this.bounds.length + 1),
        sum: 0,
        count: 0,
      };
      cells.byStatus.set(status, cell);
      this.ordered.push(cell);
    }
    return cell;
  }

  /** Only the standard methods become keys; any other method shares OTHER's cells without adding a key. */
  #methodCells(method: string): MethodCells {
    const label = KNOWN_METHODS.has(method) ? method : OTHER_METHOD;
    let cells = this.#byMethod.get(label);
    if (cells === undefined) {
      cells = { label, byStatus: new Map() };
      this.#byMethod.set(label, cells);
    }
    return cells;
  }
}

export class RequestDurationHistogram extends Histogram<DurationLabel> {
  readonly #name: string;
  readonly #help: string;
  readonly #bounds: Float64Array;
  readonly #routes = new Map<string, RouteSeries>();
  readonly #ordered: Cell[] = [];

  constructor(name: string, help: string, buckets: readonly number[], registry: Registry) {
    super({
      name,
      help,
      labelNames: ["method", "path", "status"],
      buckets: [...buckets],
      registers: [registry],
    });
    this.#name = name;
    this.#help = help;
    this.#bounds = Float64Array.from(buckets);
    // prom-client's constructor assigns `observe` on the instance, which would shadow the override below.
    this.observe = RequestDurationHistogram.prototype.observe;
  }

  /** The series of one `path` value; callers on the hot path keep it instead of looking it up again. */
  route(path: string): RouteSeries {
    let series = this.#routes.get(path);
    if (series === undefined) {
      series = new RouteSeries(path, this.#bounds, this.#ordered);
      this.#routes.set(path, series);
    }
    return series;
  }

  /** Records one request; methods outside the standard set are recorded as OTHER. */
  record(method: string, path: string, status: number, seconds: number): void {
    this.route(path).record(method, status, seconds);
  }

  /** Creates the series at zero, so rate() has a first sample before the first request. */
  precreate(method: string, path: string, status: number): void {
    this.route(path).precreate(method, status);
  }

  override async get(): Promise<Exported> {
    const values: ExportedValue[] = [];
    const bucketName = `${this.#name}_bucket`;
    for (const cell of this.#ordered) {
      const labels = { method: cell.method, path: cell.path, status: cell.status };
      let cumulative = 0;
      for (let i = 0; i < this.#bounds.length; i++) {
        cumulative += cell.counts[i] as number;
        values.push({
          value: cumulative,
          labels: { ...labels, le: this.#bounds[i] as number },
          metricName: bucketName,
        });
      }
      values.push({ value: cell.count, labels: { ...labels, le: "+Inf" }, metricName: bucketName });
      values.push({ value: cell.sum, labels, metricName: `${this.#name}_sum` });
      values.push({ value: cell.count, labels, metricName: `${this.#name}_count` });
    }
    // Built here rather than through super.get(), which calls getForPromString() and so would recurse.
    // `type` is the exposition string prom-client's own Histogram uses; its typings call it an enum.
    const exported = { name: this.#name, help: this.#help, type: "histogram", aggregator: "sum", values };
    return exported as unknown as Exported;
  }

  /** prom-client's own entry points, routed to the cells so the instance can never hold two truths. */
  override observe(labels: unknown, value?: number): void {
    const l = labels as Partial<Record<DurationLabel, string | number>>;
    if (value === undefined || typeof l !== "object" || l === null) {
      throw new TypeError(`${this.#name} needs method, path and status labels`);
    }
    this.record(String(l.method), String(l.path), Number(l.status), value);
  }

  override zero(labels: Partial<Record<DurationLabel, string | number>>): void {
    this.precreate(String(labels.method), String(labels.path), Number(labels.status));
  }

  override labels(): never {
    throw new TypeError(`${this.#name}: use record(method, path, status, seconds)`);
  }

  override startTimer(): never {
    throw new TypeError(`${this.#name}: use record(method, path, status, seconds)`);
  }

  /** The Registry prefers this (untyped) method of prom-client's Histogram over get(); route it to ours. */
  getForPromString() {
    return this.get();
  }

  override reset(): void {
    // prom-client's constructor calls reset() before this class's fields exist.
    if (!(#ordered in this)) return;
    for (const cell of this.#ordered) {
      cell.counts.fill(0);
      cell.sum = 0;
      cell.count = 0;
    }
  }
}
