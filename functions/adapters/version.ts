import pkg from "../../package.json" with { type: "json" };

/** The release version, from package.json (bundled into the Lambdas by esbuild). */
export const version: string = pkg.version;
