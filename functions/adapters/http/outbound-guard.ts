import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { BlockList, isIP } from "node:net";
import { ValidationError } from "../../domain/errors.ts";
import { type OutboundUrlRules, parseOutboundUrl } from "../../domain/notifications/outbound-url.ts";

/**
 * Server-side request forgery guard for the URLs users give us (Slack/Teams/webhook). Where local
 * URLs are not allowed (always on AWS), a host whose addresses include a private, loopback,
 * link-local, CGNAT, unique-local or other special-purpose address is refused: at save
 * (`checkOutboundUrl`) and again at send, where the address checked is the address connected to
 * (`guardedLookup` is the socket's DNS lookup, so a name cannot resolve to a public address for the
 * check and a private one for the connection).
 */

/** A URL refused by the outbound rules; its message names no secret (host only). */
export class OutboundUrlRefusedError extends Error {
  override readonly name = "OutboundUrlRefusedError";
}

/** Special-purpose ranges (RFC 6890 and successors) that no public webhook lives at. */
const blocked = new BlockList();
for (const [net, prefix] of [
  ["0.0.0.0", 8], // "this network"
  ["10.0.0.0", 8], // private
  ["100.64.0.0", 10], // CGNAT
  ["127.0.0.0", 8], // loopback
  ["169.254.0.0", 16], // link-local (cloud metadata 169.254.169.254)
  ["172.16.0.0", 12], // private
  ["192.0.0.0", 24], // IETF protocol assignments
  ["192.0.2.0", 24], // documentation
  ["192.88.99.0", 24], // 6to4 relay
  ["192.168.0.0", 16], // private
  ["198.18.0.0", 15], // benchmarking
  ["198.51.100.0", 24], // documentation
  ["203.0.113.0", 24], // documentation
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, broadcast
] as const) {
  blocked.addSubnet(net, prefix, "ipv4");
}
for (const [net, prefix] of [
  ["::", 128], // unspecified
  ["::1", 128], // loopback
  ["64:ff9b:1::", 48], // local-use NAT64
  ["100::", 64], // discard
  ["2001:db8::", 32], // documentation
  ["fc00::", 7], // unique local (fd00:ec2::254 is the EC2 metadata service)
  ["fe80::", 10], // link-local
  ["fec0::", 10], // site-local (deprecated)
  ["ff00::", 8], // multicast
] as const) {
  blocked.addSubnet(net, prefix, "ipv6");
}

/** The IPv4 address an IPv6 address embeds (v4-mapped, v4-compatible, NAT64), if any. */
function embeddedIpv4(address: string): string | undefined {
  const lower = address.toLowerCase();
  const dotted = /^(?:::ffff:|::|64:ff9b::)(\d{1,3}(?:\.\d{1,3}){3})$/.exec(lower);
  if (dotted) return dotted[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex) {
    const high = Number.parseInt(hex[1]!, 16);
    const low = Number.parseInt(hex[2]!, 16);
    return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
  }
  return undefined;
}

/**
 * Whether an IP address is one a public webhook may live at.
 *
 * @example isPublicAddress("10.1.2.3") // false
 */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return !blocked.check(address, "ipv4");
  if (family === 6) {
    const v4 = embeddedIpv4(address);
    if (v4 !== undefined) return isPublicAddress(v4);
    return !blocked.check(address, "ipv6");
  }
  return false;
}

export type LookupAll = (hostname: string) => Promise<readonly LookupAddress[]>;

/** The system resolver (getaddrinfo), every address. */
export const systemLookup: LookupAll = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses)));
  });

export interface OutboundGuardOptions extends OutboundUrlRules {
  /** Resolver; tests inject one that answers with the addresses of their cases. */
  readonly lookup?: LookupAll | undefined;
}

export interface OutboundGuard {
  readonly rules: OutboundUrlRules;
  /**
   * The URL if it may be saved: its form (domain rules), then, where local URLs are not allowed,
   * every address its host resolves to. Throws ValidationError naming `field`.
   */
  checkUrl(raw: string, field: string): Promise<URL>;
  /** The URL for a send, or OutboundUrlRefusedError: the same form rules, address checked at connect. */
  urlForSend(raw: string): URL;
  /**
   * A `lookup` for node:http(s) sockets that refuses non-public addresses (undefined where local
   * URLs are allowed: the system resolver then).
   */
  readonly socketLookup: SocketLookup | undefined;
}

type SocketLookup = (
  hostname: string,
  options: { all?: boolean; family?: number | string },
  callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void,
) => void;

/** Literal IP of a URL's hostname (without the brackets of IPv6), or undefined for a name. */
function literalAddress(hostname: string): string | undefined {
  const bare = hostname.startsWith("[") ? hostname.slice(1, -1) : hostname;
  return isIP(bare) ? bare : undefined;
}

export function createOutboundGuard(options: OutboundGuardOptions): OutboundGuard {
  const lookup = options.lookup ?? systemLookup;
  const rules: OutboundUrlRules = { allowLocal: options.allowLocal };

  const refusedAddress = (host: string, address: string) =>
    `${host} resolves to ${address}, a private, loopback or link-local address; only public addresses are allowed`;

  const socketLookup: SocketLookup | undefined = options.allowLocal
    ? undefined
    : (hostname, lookupOptions, callback) => {
        lookup(hostname).then(
          (addresses) => {
            const family = Number(lookupOptions.family) || 0;
            const candidates = addresses.filter((a) => family === 0 || a.family === family);
            const bad = candidates.find((a) => !isPublicAddress(a.address));
            if (bad) return callback(new OutboundUrlRefusedError(refusedAddress(hostname, bad.address)), "");
            if (candidates.length === 0) {
              return callback(
                Object.assign(new Error(`${hostname} has no address`), { code: "ENOTFOUND" }),
                "",
              );
            }
            if (lookupOptions.all) return callback(null, candidates);
            return callback(null, candidates[0]!.address, candidates[0]!.family);
          },
          (err: Error) => callback(err, ""),
        );
      };

  return {
    rules,
    socketLookup,
    async checkUrl(raw, field) {
      const url = parseOutboundUrl(raw, field, rules);
      if (options.allowLocal) return url;
      const literal = literalAddress(url.hostname);
      if (literal !== undefined) {
        if (!isPublicAddress(literal)) {
          throw new ValidationError(
            field,
            `${literal} is a private, loopback or link-local address; only public addresses are allowed`,
          );
        }
        return url;
      }
      let addresses: readonly LookupAddress[];
      try {
        addresses = await lookup(url.hostname);
      } catch {
        throw new ValidationError(field, `the host ${url.hostname} does not resolve`);
      }
      const bad = addresses.find((a) => !isPublicAddress(a.address));
      if (bad) throw new ValidationError(field, refusedAddress(url.hostname, bad.address));
      if (addresses.length === 0)
        throw new ValidationError(field, `the host ${url.hostname} does not resolve`);
      return url;
    },
    urlForSend(raw) {
      let url: URL;
      try {
        url = parseOutboundUrl(raw, "url", rules);
      } catch (err) {
        throw new OutboundUrlRefusedError((err as Error).message.replace(/^url: /, "the URL "));
      }
      const literal = literalAddress(url.hostname);
      // A literal address never reaches the socket's lookup: checked here.
      if (!options.allowLocal && literal !== undefined && !isPublicAddress(literal)) {
        throw new OutboundUrlRefusedError(`${literal} is not a public address`);
      }
      return url;
    },
  };
}
