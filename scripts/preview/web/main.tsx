/** Entry of the page: Grafana's dark theme and global styles, then the dashboard the server hands over. */
import { createTheme } from "@grafana/data";
import { GlobalStyles, ThemeContext } from "@grafana/ui";
import { flushSync } from "react-dom";
import { createRoot } from "react-dom/client";
import { Dashboard } from "./Dashboard";
import type { DashboardJson, DatasourceJson } from "./dashboard-types";

declare global {
  interface Window {
    __grafana_public_path__?: string;
  }
}

// Where @grafana/ui loads its icons and fonts from; the page server serves them from the packages.
window.__grafana_public_path__ = "/public/";

async function json<T>(path: string): Promise<T> {
  const response = await fetch(path);
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return (await response.json()) as T;
}

const [dashboard, datasource] = await Promise.all([
  json<DashboardJson>("/dashboard.json"),
  json<DatasourceJson>("/datasource.json"),
]);
const element = document.getElementById("root");
if (element === null) throw new Error("no #root element");
const theme = createTheme();
const root = createRoot(element);
// Global styles first, then their Inter fonts, so graphs never draw axis labels in a fallback font.
flushSync(() =>
  root.render(
    <ThemeContext.Provider value={theme}>
      <GlobalStyles />
    </ThemeContext.Provider>,
  ),
);
await Promise.all(["400", "500"].map((weight) => document.fonts.load(`${weight} 12px Inter`)));
root.render(
  <ThemeContext.Provider value={theme}>
    <GlobalStyles />
    <Dashboard dashboard={dashboard} datasource={datasource} width={window.innerWidth} />
  </ThemeContext.Provider>,
);
