/**
 * The newest migration's name: the schema version a fully migrated database has (GetVersion reports
 * it). A constant rather than computed from index.ts so that the API Lambda does not bundle every
 * migration to know it (~15 KB); latest.test.ts checks that it names the last entry of index.ts.
 */
export const latestMigration = "2026-11-30T0900-bundles-without-fk";
