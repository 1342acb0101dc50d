/** dashboards/storage-api.json for tests: the dashboard, and every query with its panel's title. */
import dashboard from "../../dashboards/storage-api.json";

export { dashboard };
export const queries = dashboard.panels.flatMap(({ title, targets }) =>
  targets.map((target) => ({ panel: title, ...target })),
);
