/**
 * An AWS SDK client given either as an instance or as a loader that creates it on first use.
 *
 * Loading an SDK client package costs a Lambda 40–70 ms of init, and most paths of most functions
 * never use a given client (Step Functions only when an escalation starts or stops, Secrets Manager
 * only for the admin token). So the AWS context passes loaders, and the adapters import the client
 * package with `import()` the first time they send: an external package imported statically would be
 * loaded at init even from a lazily evaluated module of the bundle.
 */
export type ClientSource<C> = C | (() => Promise<C>);

/** The client of `source`, creating it on the first call when it is a loader. */
export function resolveClient<C extends object>(source: ClientSource<C>): Promise<C> {
  return typeof source === "function" ? (source as () => Promise<C>)() : Promise.resolve(source);
}

/**
 * Memoises an async loader; a failed load is retried on the next call.
 *
 * @example
 * const sfn = lazily(async () => new (await import("@aws-sdk/client-sfn")).SFNClient({}));
 */
export function lazily<T>(load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= load().catch((err: unknown) => {
      pending = undefined;
      throw err;
    });
    return pending;
  };
}
