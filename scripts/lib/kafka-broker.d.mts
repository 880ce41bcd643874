// Types for kafka-broker.mjs, so test/support can import it from strict TypeScript.
export const ROOT: string;
export const STATE_DIR: string;
export const BROKER_SOURCE: string;
export const BROKER_BINARY: string;
export const DEFAULT_TOPICS: Readonly<Record<string, number>>;
export function brokerBuildPrereqs(): Array<
  [what: string, debianPackage: string, present: boolean]
>;
export function hasCommand(name: string): boolean;
export function ensureBrokerBinary(): Promise<string>;
export function brokerArgs(options?: {
  brokers?: number;
  port?: number;
  topics?: Record<string, number>;
  daemon?: boolean;
}): string[];
export function parseBootstrapLine(text: string): string[] | undefined;
