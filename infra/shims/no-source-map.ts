/**
 * `source-map` for the Lambda bundles (esbuild `alias`, infra/bundling.ts): nothing. Handlebars'
 * compiler requires it inside a try and, finding no `SourceNode`, uses its own minimal one
 * (handlebars/dist/cjs/handlebars/compiler/code-gen.js); the library only matters for templates
 * compiled with a `srcName`, which we never pass. 26 KB less in the API bundle.
 * infra/bundles.test.ts compiles and renders a template through a bundle built this way.
 */
export {};
