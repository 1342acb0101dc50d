/** Grafana's dashboard grid: 24 columns, 30 px rows, 8 px gaps (react-grid-layout's arithmetic). */
import type { GridPos } from "@grafana/schema";

export const GRID_COLUMNS = 24;
export const GRID_ROW_HEIGHT = 30;
export const GRID_MARGIN = 8;

export interface Rect {
  left: number;
  top: number;
  width: number;
  height: number;
}

export function gridRect({ x, y, w, h }: GridPos, gridWidth: number): Rect {
  const columnWidth = (gridWidth - GRID_MARGIN * (GRID_COLUMNS - 1)) / GRID_COLUMNS;
  return {
    left: Math.round((columnWidth + GRID_MARGIN) * x),
    top: Math.round((GRID_ROW_HEIGHT + GRID_MARGIN) * y),
    width: Math.round(columnWidth * w + Math.max(0, w - 1) * GRID_MARGIN),
    height: Math.round(GRID_ROW_HEIGHT * h + Math.max(0, h - 1) * GRID_MARGIN),
  };
}
