/**
 * Ingestion limits. Each bound exists so that one sender cannot make a request expensive for
 * everyone else (CPU, memory, index size, message size); going over one is a 400 that names the
 * field (ValidationError), never a silent truncation of what the sender wrote. The body-size limit
 * (1 MiB → 413) is enforced by the HTTP edge before parsing.
 */

/**
 * Alerts in one request. Alertmanager sends a whole group per request and a group can be large;
 * 1,000 alerts is ~0.5 MiB of Alertmanager JSON, which still fits the 1 MiB body limit and one
 * database round trip. Bigger groups should set `max_alerts` in the webhook config: the alerts it
 * cuts off arrive as `truncatedAlerts`, which we record.
 */
export const MAX_ALERTS_PER_REQUEST = 1000;

/** Labels per alert. Prometheus series rarely carry more than 30; 128 leaves room for relabelling. */
export const MAX_LABELS_PER_ALERT = 128;

/** Annotations per alert; same reasoning as labels. */
export const MAX_ANNOTATIONS_PER_ALERT = 128;

/** Length of a label or annotation key (UTF-16 code units). Keys are identifiers, not prose. */
export const MAX_LABEL_KEY_LENGTH = 256;

/** Length of a label value. Labels are matched by routing rules and indexed (GIN), so they stay short. */
export const MAX_LABEL_VALUE_LENGTH = 4096;

/** Length of an annotation value: descriptions and runbook text may be long, but not unbounded. */
export const MAX_ANNOTATION_VALUE_LENGTH = 16 * 1024;

/**
 * Length of a summary. It is what SMS, voice and chat titles carry; 1,024 is also PagerDuty's limit
 * for `payload.summary`, so anything that pages PagerDuty fits.
 */
export const MAX_SUMMARY_LENGTH = 1024;

/** Length of details (markdown shown on the alert page and in long-form messages). */
export const MAX_DETAILS_LENGTH = 64 * 1024;

/** Length of a dedup key; PagerDuty's limit for `dedup_key`, and well under a B-tree index entry. */
export const MAX_DEDUP_KEY_LENGTH = 255;

/** Length of a link's href (Prometheus generator URLs embed the whole PromQL expression). */
export const MAX_URL_LENGTH = 8 * 1024;

/** Links per alert (PagerDuty `links` + `images`, Grafana's URLs). */
export const MAX_LINKS_PER_ALERT = 32;

/**
 * Nesting depth of a JSON body: `{}` is depth 1, `{"a":[1]}` depth 2. Every known sender stays
 * under 8; PagerDuty `custom_details` is free-form, so leave it room. Checked first, by a walk that
 * stops at the limit, so later recursive processing (and JSONB storage) never sees a deep document.
 */
export const MAX_JSON_DEPTH = 32;
