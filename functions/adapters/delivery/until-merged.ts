import type { UserDirectory } from "../../domain/directory/model.ts";
import {
  type DeliveryProvider,
  type DeliveryProviderRegistry,
  type DestinationKind,
  TEMPLATE_CHANNEL_OF,
} from "../../domain/notifications/model.ts";

// Stand-ins for what the `directory` and `providers` branches build (issue 12), so that the delivery
// pipeline composes before they are merged. None of them pretends: a directory that knows nobody (every
// page is logged `no_contact_method`), channels that do not exist, and providers that answer `failed`
// naming what is missing. Each runtime replaces them with the real ones once those land.

/** A directory that knows no one. */
export const emptyDirectory: UserDirectory = {
  getUsers: async () => [],
  searchUsers: async () => [],
  contactMethods: async () => [],
};

/** A channel lookup that finds no channel. */
export const noChannels = { getChannels: async () => [] };

/** Providers that answer `failed`: nothing is configured to send this kind. */
export function unconfiguredProviders(): DeliveryProviderRegistry {
  const kinds = Object.keys(TEMPLATE_CHANNEL_OF) as DestinationKind[];
  return Object.fromEntries(
    kinds.map((kind): [DestinationKind, DeliveryProvider] => [
      kind,
      { kind, send: async () => ({ status: "failed", reason: `no ${kind} provider is configured` }) },
    ]),
  ) as DeliveryProviderRegistry;
}
