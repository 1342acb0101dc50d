/**
 * One panel's queries against Prometheus' query_range API (through the page server), turned into the data
 * frames Grafana's Prometheus data source returns: one frame per series, a Time and a Value field.
 */
import {
  createDataFrame,
  type DataFrame,
  FieldType,
  renderLegendFormat,
  type TimeRange,
} from "@grafana/data";
import type { DashboardPanel, DatasourceJson } from "./dashboard-types";
import { interpolate, queryIntervals } from "./intervals";

interface MatrixResponse {
  status: string;
  error?: string;
  data?: {
    resultType: string;
    result: Array<{ metric: Record<string, string>; values: [number, string][] }>;
  };
}

/** Prometheus prints +Inf, -Inf and NaN as strings; Grafana keeps them as numbers. */
function sampleValue(text: string): number {
  if (text === "+Inf") return Number.POSITIVE_INFINITY;
  if (text === "-Inf") return Number.NEGATIVE_INFINITY;
  return Number(text);
}

/** Start and end rounded down to a multiple of the step, as Grafana does so Prometheus can cache. */
function align(ms: number, stepMs: number): number {
  return Math.floor(ms / stepMs) * stepMs;
}

export async function queryPanel(
  panel: DashboardPanel,
  datasource: DatasourceJson,
  range: TimeRange,
  maxDataPoints: number,
): Promise<DataFrame[]> {
  const intervals = queryIntervals(
    range,
    maxDataPoints,
    panel.interval ?? datasource.timeInterval,
    datasource.timeInterval,
  );
  const stepMs = intervals.intervalMs;
  const perTarget = (panel.targets ?? []).map(async (target) => {
    // POST, as the provisioned data source is set to (httpMethod: POST).
    const form = new URLSearchParams({
      query: interpolate(target.expr, intervals, range),
      start: String(align(range.from.valueOf(), stepMs) / 1000),
      end: String(align(range.to.valueOf(), stepMs) / 1000),
      step: String(stepMs / 1000),
    });
    const response = await fetch("/prometheus/api/v1/query_range", { method: "POST", body: form });
    const body = (await response.json()) as MatrixResponse;
    if (body.status !== "success" || body.data === undefined) {
      throw new Error(`${target.refId}: ${body.error ?? `HTTP ${response.status}`}`);
    }
    return body.data.result.map(({ metric, values }) =>
      createDataFrame({
        refId: target.refId,
        fields: [
          {
            name: "Time",
            type: FieldType.time,
            // The step tells the graph where samples are missing, so gaps are drawn as gaps.
            config: { interval: stepMs },
            values: values.map(([seconds]) => seconds * 1000),
          },
          {
            name: "Value",
            type: FieldType.number,
            labels: metric,
            config: target.legendFormat
              ? { displayNameFromDS: renderLegendFormat(target.legendFormat, metric) }
              : {},
            values: values.map(([, text]) => sampleValue(text)),
          },
        ],
      }),
    );
  });
  return (await Promise.all(perTarget)).flat();
}
