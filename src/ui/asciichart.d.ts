// asciichart 1.5 ships no types; only the part the console uses is declared.
declare module 'asciichart' {
  export interface PlotConfig {
    height?: number;
    min?: number;
    max?: number;
    offset?: number;
    padding?: string;
    format?: (value: number, index: number) => string;
    colors?: string[];
  }
  export function plot(series: number[] | number[][], config?: PlotConfig): string;
  const asciichart: { plot: typeof plot };
  export default asciichart;
}
