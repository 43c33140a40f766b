// The options every command shares; its own module so that commands never import main.ts.
export interface GlobalOptions {
  config?: string;
  odooConfig?: string;
  patterns?: string;
  color: boolean;
}
