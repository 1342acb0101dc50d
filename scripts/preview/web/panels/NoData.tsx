/** What Grafana's panels show when the queries returned nothing. */
export function NoData() {
  return (
    <div style={{ display: "flex", height: "100%", alignItems: "center", justifyContent: "center" }}>
      No data
    </div>
  );
}
